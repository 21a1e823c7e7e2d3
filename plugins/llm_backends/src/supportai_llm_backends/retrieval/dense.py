"""Dense ranking: cosine similarity between the query and every chunk's vector.

Vectors are kept as one normalised ``float32`` matrix, so a query is one
matrix-vector product (about 25 M multiply-adds at 100k chunks of 256 dimensions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Matrix = np.ndarray[Any, np.dtype[np.float32]]


def normalise(vectors: Sequence[Sequence[float]] | Matrix) -> Matrix:
    """Rows scaled to unit length (a zero row stays zero)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Matrix = matrix / norms
    return result


def to_bytes(vector: Matrix) -> bytes:
    """A vector as it is persisted: little-endian float32."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> Matrix:
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


class DenseIndex:
    """A normalised matrix of chunk vectors."""

    def __init__(self, matrix: Matrix) -> None:
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)

    @property
    def dimensions(self) -> int:
        return int(self.matrix.shape[1]) if self.matrix.ndim == 2 else 0

    def scores(self, query_vector: Matrix) -> Matrix:
        """Cosine similarity of every chunk with the (normalised) query vector."""
        if not len(self.matrix):
            return np.zeros(0, dtype=np.float32)
        return dot(self.matrix, query_vector)

    def scores_of(self, rows: np.ndarray[Any, np.dtype[np.int64]], query_vector: Matrix) -> Matrix:
        """Cosine similarity of some rows only."""
        return dot(self.matrix[rows], query_vector)


def dot(matrix: Matrix, vector: Matrix) -> Matrix:
    """``matrix @ vector`` on one core, without BLAS.

    A matrix-vector product is bound by memory bandwidth, so BLAS threads do not
    make it faster; on a busy machine they make it much slower (measured on a
    shared 2-core host: 28 ms with OpenBLAS threads, 1.2 ms single-threaded, for
    10k x 256). ``einsum`` without ``optimize`` runs numpy's own loop, on the
    calling thread, whatever the host's BLAS configuration.
    """
    result: Matrix = np.einsum("ij,j->i", matrix, vector.reshape(-1))
    return result
