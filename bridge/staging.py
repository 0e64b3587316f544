"""Where :class:`~bridge.store.staging.Staging` was: it is part of the store layer now.

Kept only while other changes that import it from here are merged; import it from
:mod:`bridge.store.staging` (this module goes once nothing does).
"""

from bridge.store.staging import Staging

__all__ = ["Staging"]
