"""How a ClickMe map is stored in its row: the bytes of a .npy file (float32), and back (numpy only)."""

import io

import numpy as np
import numpy.typing as npt


def npy_bytes(array: npt.ArrayLike, dtype: npt.DTypeLike = np.float32) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=dtype), allow_pickle=False)
    return buffer.getvalue()


def npy_array(data: bytes | memoryview) -> np.ndarray:
    return np.load(io.BytesIO(bytes(data)), allow_pickle=False)
