from tests.agent._emulated import client, context, emulator, module_emulator

__all__ = ["client", "context", "emulator", "module_emulator"]
