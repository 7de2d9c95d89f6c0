"""Master high availability: leader election and detection in ZooKeeper (Mesos' layout).

``election`` holds the pure rules (URL, MasterInfo JSON, who leads),
``zookeeper`` the kazoo shells of the election and ``registry_store`` the
registry's znode (this package is the only kazoo importer), ``zk_server`` a
private ZooKeeper for tests.
"""

from actors.ha.election import Leader, ZkUrl, choose_leader, master_error, master_info, parse_zk_url
from actors.ha.registry_store import RegistryStore
from actors.ha.zk_server import ZooKeeperServer
from actors.ha.zookeeper import LeaderDetector, MasterContender

__all__ = ["Leader", "LeaderDetector", "MasterContender", "RegistryStore", "ZkUrl", "ZooKeeperServer", "choose_leader",
           "master_error", "master_info", "parse_zk_url"]
