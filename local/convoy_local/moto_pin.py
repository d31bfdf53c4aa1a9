"""The moto version convoy's simulator patches (moto_server.py) and the ASL flow test's stand-ins are written
against. Those reach into moto internals, which change between releases without notice; a different moto must
fail at start-up, not half-work. To upgrade moto: bump it in local/requirements.txt, re-check every use of moto
internals (`moto.ecs.models`, `moto.stepfunctions.parser`, `moto.scheduler`), run local/tests (its
test_moto_scheduler_pins.py pins the moto Scheduler behaviours scheduler_sim.py builds on), then change
MOTO_VERSION here.
"""

import moto

MOTO_VERSION = "5.2.5"


def require_pinned_moto() -> None:
    if moto.__version__ != MOTO_VERSION:
        raise SystemExit(
            f"convoy_local: moto {MOTO_VERSION} is pinned (local/requirements.txt) and its internals are patched "
            f"for it, but moto {moto.__version__} is installed ({moto.__file__}). Run local/install.sh to get the "
            f"pinned one; to upgrade, see local/convoy_local/moto_pin.py."
        )
