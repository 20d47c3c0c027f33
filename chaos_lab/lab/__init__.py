"""The lab: the protocol the experiment types against, the one module that talks to Docker, pools of parallel
instances, and reads of the engine's data volume and resources."""
