"""Model calls through litellm, and the response store.

litellm is imported lazily (`load_litellm`), only where models are called.
"""

from __future__ import annotations

import logging
import os
import warnings
from types import ModuleType

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

_litellm: ModuleType | None = None


def load_litellm() -> ModuleType:
    """Import litellm once, quiet its logging and telemetry."""
    global _litellm
    if _litellm is None:
        with warnings.catch_warnings():  # its pydantic models warn as they are built
            warnings.simplefilter("ignore")
            import litellm

        # litellm builds more pydantic models on its first calls; their warnings are noise.
        warnings.filterwarnings("ignore", module=r"pydantic\._internal\._generate_schema")
        warnings.filterwarnings("ignore", module=r"litellm(\.|$)")
        litellm.suppress_debug_info = True
        litellm.set_verbose = False
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        _litellm = litellm
    return _litellm
