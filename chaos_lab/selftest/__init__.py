"""The lab's self-test: how many realistic engine bugs (mutants) do the chaos scenarios catch?"""
