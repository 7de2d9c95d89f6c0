"""The master: frameworks, agents, offers and tasks (pure core in ``core``, actor in ``process``)."""

from actors.master.config import ConfigError, MasterConfig
from actors.master.core import MasterCore
from actors.master.process import MasterProcess, spawn_master

__all__ = ["ConfigError", "MasterConfig", "MasterCore", "MasterProcess", "spawn_master"]
