"""Master high availability: leader election and detection in ZooKeeper (Mesos' layout).

``election`` holds the pure rules (URL, MasterInfo JSON, who leads),
``zookeeper`` the kazoo shells of the election (masters' and frameworks'),
``registry_store`` the registry's znode, ``kv_store`` a framework's state
store (``store_keys`` its pure key rules); this package is the only kazoo
importer. ``zk_server`` is a private ZooKeeper for tests.
"""

from actors.ha.election import (
    Leader,
    ZkUrl,
    choose_leader,
    master_error,
    master_info,
    parse_json_info,
    parse_master_info,
    parse_zk_url,
)
from actors.ha.kv_store import ZooKeeperStore
from actors.ha.registry_store import RegistryStore
from actors.ha.store_keys import StoreError
from actors.ha.zk_server import ZooKeeperServer
from actors.ha.zookeeper import Contender, LeaderDetector, MasterContender

__all__ = ["Contender", "Leader", "LeaderDetector", "MasterContender", "RegistryStore", "StoreError", "ZkUrl",
           "ZooKeeperServer", "ZooKeeperStore", "choose_leader", "master_error", "master_info", "parse_json_info",
           "parse_master_info", "parse_zk_url"]
