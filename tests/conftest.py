import os, warnings
from pathlib import Path
import pytest
import vww_kit  # sets TF_USE_LEGACY_KERAS before anything imports TensorFlow

ROOT = Path(__file__).resolve().parents[1]
SHARED_MODELS = ROOT.parent/'shared'/'models'/'mlperf-tiny-vww'

@pytest.fixture
def mlperf_dir():
    "The MLPerf Tiny VWW reference model folder beside the project; skip with a reason where it is absent"
    if not (SHARED_MODELS/'vww_96_int8.tflite').exists():
        pytest.skip(f"MLPerf VWW reference model not found at {SHARED_MODELS} (../shared/models/mlperf-tiny-vww)")
    return SHARED_MODELS
