"""FastAPI app factory (`uvicorn solat_engine.api.app:create_app --factory`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from solat_engine.api.backtest_routes import router as backtest_router
from solat_engine.api.data_routes import router as data_router
from solat_engine.api.errors import install_error_handlers
from solat_engine.api.execution_routes import router as execution_router
from solat_engine.config import EngineConfig, load_config
from solat_engine.engine import Engine, HealthReport
from solat_engine.stall_watchdog import StallWatchdog

THREAD_POOL_SIZE = 200


def config_from_environment() -> EngineConfig:
    """SOLAT_* variables over the optional `config.json` (ConfigError naming the file if it is invalid)."""
    env = EngineConfig.from_env()
    file_cfg = load_config(env.config_file)
    overrides = env.model_dump(exclude_unset=True)
    return file_cfg.model_copy(update={**overrides, "kill_switch_token": env.kill_switch_token})


def create_app(engine: Engine | None = None) -> FastAPI:
    """Build the app; the engine starts with the server (lifespan) and stops with it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = engine or Engine(config_from_environment())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Sync endpoints share one thread pool: signals stuck on a slow broker must not starve /health.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREAD_POOL_SIZE
        watchdog = StallWatchdog()  # logs why the engine went silent, if it does
        watchdog.start()
        engine.start()
        try:
            yield
        finally:
            engine.stop()
            watchdog.stop()

    app = FastAPI(title="solat engine", lifespan=lifespan)
    app.state.engine = engine
    install_error_handlers(app)

    @app.get("/health")
    def health() -> HealthReport:
        return engine.health()

    app.include_router(execution_router)
    app.include_router(data_router)
    app.include_router(backtest_router)
    return app
