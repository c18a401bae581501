"""Writing an .npz (a zip of .npy files) one array chunk at a time, so exports run in constant memory."""

import zipfile

import numpy as np


class NpzStreamWriter:
    """with NpzStreamWriter(path) as npz: npz.write("a", array); with npz.stream("maps", shape, dtype) as put: put(chunk)"""

    def __init__(self, path):
        self.zip = zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()

    def write(self, name, array):
        with self.zip.open(f"{name}.npy", mode="w", force_zip64=True) as handle:
            np.lib.format.write_array(handle, np.ascontiguousarray(array), allow_pickle=False)

    def stream(self, name, shape, dtype):
        return _ArrayStream(self.zip, name, tuple(shape), np.dtype(dtype))


class _ArrayStream:
    def __init__(self, archive, name, shape, dtype):
        self.archive, self.name, self.shape, self.dtype = archive, name, shape, dtype
        self.expected = int(np.prod(shape)) * dtype.itemsize
        self.written = 0

    def __enter__(self):
        self.handle = self.archive.open(f"{self.name}.npy", mode="w", force_zip64=True)
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_2_0(self.handle, header)
        return self.put

    def put(self, chunk):
        data = np.ascontiguousarray(chunk, dtype=self.dtype).tobytes()
        self.written += len(data)
        if self.written > self.expected:
            raise ValueError(f"{self.name}: more data than its shape {self.shape} holds")
        self.handle.write(data)

    def __exit__(self, exc_type, *exc):
        self.handle.close()
        if exc_type is None and self.written != self.expected:
            raise ValueError(f"{self.name}: wrote {self.written} bytes, its shape {self.shape} needs {self.expected}")
