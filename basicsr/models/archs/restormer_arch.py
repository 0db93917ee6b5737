"""Restormer: Efficient Transformer for High-Resolution Image Restoration.

Zamir, Arora, Khan, Hayat, Khan and Yang, CVPR 2022 (arXiv:2111.09881).

Module names, parameter names and parameter order are those of the official implementation, so
official checkpoints (``{'params': state_dict}``) load with ``strict=True``.

This file is self-contained on purpose: scripts written for the official repository load it by
path (``runpy.run_path('basicsr/models/archs/restormer_arch.py')``), so it imports nothing from
``basicsr`` unless it is imported as part of the package.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

__all__ = ['Restormer', 'TransformerBlock', 'Attention', 'FeedForward', 'LayerNorm']

_LN_EPS = 1e-5
# GDFN hidden widths are padded only for feature maps of at least this many pixels (batch * H * W):
# there the faster kernels win; on small maps the per-call copies of the padded weights cost more.
_PAD_MIN_PIXELS = 2048


def _autocast_enabled(device_type: str) -> bool:
    is_available = getattr(torch.amp, 'is_autocast_available', None)  # torch >= 2.4
    if is_available is not None and not is_available(device_type):
        return False  # e.g. 'meta' (FLOP counting): asking would raise
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 (this file may be loaded by path into older environments)
        return torch.is_autocast_enabled() if device_type == 'cuda' else torch.is_autocast_cpu_enabled()


# Inside Restormer every feature map is channels-last (B, C, H, W) whose memory is (B, H, W, C): the
# (B*H*W, C) pixel matrix is then a free view, so 1x1 convolutions are plain GEMMs on it, LayerNorm
# over C is the fused kernel on contiguous rows, and oneDNN's depth-wise convolutions run in their
# fastest layout.  The functions and modules below accept any layout but are fastest on that one.

def _pixels_last(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H, W, C); a free view when ``x`` is channels-last."""
    return x.permute(0, 2, 3, 1)


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,
            residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """1x1 convolution of ``x`` with a (Cout, Cin) ``weight``, plus ``residual`` if given; channels-last out.

    One GEMM over the pixel matrix, without oneDNN's layout reorders; a residual is added by the GEMM
    itself (``addmm``'s beta) instead of by another pass over another new tensor.
    """
    b, _, h, w = x.shape
    if residual is None:
        y = F.linear(_pixels_last(x), weight, bias)
    else:
        rows = _pixels_last(residual).reshape(b * h * w, weight.shape[0])
        y = torch.addmm(rows, _pixels_last(x).reshape(b * h * w, weight.shape[1]), weight.t())
        y = y.reshape(b, h, w, weight.shape[0])
        if bias is not None:
            y = y + bias
    return y.permute(0, 3, 1, 2)


def _pointwise(conv: nn.Conv2d, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``conv(x)`` (+ ``residual``) for a 1x1 ``conv``, computed by ``_linear``."""
    return _linear(x, conv.weight.flatten(1), conv.bias, residual)


def _split(param: Optional[torch.Tensor], parts: int, pad: int = 0) -> List[Optional[torch.Tensor]]:
    """``param`` cut into ``parts`` equal pieces along dim 0, each followed by ``pad`` zero slices.

    ``chunk`` rather than slicing: autograd then assembles the parameter's gradient with one
    concatenation instead of zero-filling and adding a full-size tensor per piece.
    """
    if param is None:
        return [None] * parts
    pieces = param.chunk(parts)
    return [F.pad(t, (0, 0) * (t.dim() - 1) + (0, pad)) for t in pieces] if pad else list(pieces)


def _depthwise(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    """3x3 depth-wise convolution (padding 1)."""
    return F.conv2d(x, weight, bias, padding=1, groups=weight.shape[0])


class BiasFree_LayerNorm(nn.Module):
    """Divides by the per-pixel channel standard deviation; the mean is *not* subtracted.

    Note this is not RMSNorm: the variance is still taken around the mean.
    Normalises over C of (B, C, H, W) tensors.
    """

    def __init__(self, normalized_shape: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(normalized_shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _pixels_last(x)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return (x * torch.rsqrt(var + _LN_EPS) * self.weight).permute(0, 3, 1, 2)


class WithBias_LayerNorm(nn.Module):
    """Standard LayerNorm over channels (eps 1e-5, population variance) on (B, C, H, W) tensors.

    ``F.layer_norm`` on the (B, H, W, C) view: for a channels-last input the fused kernel runs on
    contiguous rows without copies; the output is channels-last.
    """

    def __init__(self, normalized_shape: int) -> None:
        super().__init__()
        self.normalized_shape = (normalized_shape,)  # a plain tuple: stays static when traced (ONNX export)
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(_pixels_last(x), self.normalized_shape, self.weight, self.bias, _LN_EPS)
        return y.permute(0, 3, 1, 2)


class LayerNorm(nn.Module):
    """Channel LayerNorm; ``LayerNorm_type='BiasFree'`` selects the bias-free variant, anything else WithBias."""

    def __init__(self, dim: int, LayerNorm_type: str) -> None:
        super().__init__()
        self.body = BiasFree_LayerNorm(dim) if LayerNorm_type == 'BiasFree' else WithBias_LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class FeedForward(nn.Module):
    """Gated-Dconv feed-forward network (GDFN): 1x1 expand, 3x3 depth-wise, GELU gate, 1x1 project.

    ``forward(x, residual)`` returns ``residual + GDFN(x)``.
    """

    def __init__(self, dim: int, ffn_expansion_factor: float, bias: bool) -> None:
        super().__init__()
        hidden = int(dim * ffn_expansion_factor)
        self.project_in = nn.Conv2d(dim, hidden * 2, kernel_size=1, bias=bias)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, kernel_size=3, padding=1, groups=hidden * 2, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, kernel_size=1, bias=bias)
        # The odd hidden widths (127, 255, 1021) send the GEMM and depth-wise kernels down slow
        # remainder paths; on large maps it is faster to compute `hidden_pad` extra channels whose
        # weights are zero (they stay exactly zero through the gate and add nothing to the output).
        self.hidden_pad = -hidden % 16

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        pad = self.hidden_pad
        if torch.jit.is_tracing() or x.shape[0] * x.shape[2] * x.shape[3] < _PAD_MIN_PIXELS:
            pad = 0  # an eager-mode speed-up only; ONNX export (tracing) needs statically shaped weights
        w_in, b_in = _split(self.project_in.weight.flatten(1), 2, pad), _split(self.project_in.bias, 2, pad)
        w_dw, b_dw = _split(self.dwconv.weight, 2, pad), _split(self.dwconv.bias, 2, pad)
        # Gate and value as two tensors rather than two channel halves of one: on whole contiguous
        # tensors the GELU and the product run vectorised (on strided halves they do not).
        gate, value = (_depthwise(_linear(x, w_in[i], b_in[i]), w_dw[i], b_dw[i]) for i in (0, 1))
        if torch.is_grad_enabled():
            gated = F.gelu(gate) * value
        else:  # no autograd: write the product into the GELU output instead of a new large tensor
            gated = F.gelu(gate).mul_(value)
        w_out = self.project_out.weight.flatten(1)
        return _linear(gated, F.pad(w_out, (0, pad)) if pad else w_out, self.project_out.bias, residual)


_NORM_EPS = 1e-12  # F.normalize's clamp of the norm


def _cosine_attention(q: torch.Tensor, k: torch.Tensor, temperature: torch.Tensor):
    """``softmax(normalize(q) @ normalize(k)^T * temperature)`` for q, k: (B, heads, C/heads, H*W).

    ``normalize(q) @ normalize(k)^T == (q @ k^T) / (|q| |k|^T)``: dividing the small map by the norms
    (clamped like ``F.normalize``) avoids writing normalised copies of q and k.  The norms are
    sqrt(sum of squares): ``linalg.vector_norm`` is much slower over this strided axis.
    Returns the attention map and, for the backward pass, the cosine map and the unclamped norms.
    """
    q_len = q.square().sum(dim=-1, keepdim=True).sqrt()  # (B, heads, C/heads, 1)
    k_len = k.square().sum(dim=-1, keepdim=True).sqrt()
    cos = (q @ k.transpose(-2, -1)) / (q_len.clamp_min(_NORM_EPS) * k_len.clamp_min(_NORM_EPS).transpose(-2, -1))
    return (cos * temperature).softmax(dim=-1), cos, q_len, k_len


class _ChannelAttention(torch.autograd.Function):
    """``_cosine_attention`` with a hand-written backward pass.

    Autograd would take the norms' gradient through separate passes over q and k (square, expand,
    multiply, accumulate) and hand the depth-wise convolution a gradient in the wrong memory layout
    (one more copy); here each gradient is one GEMM plus one multiply-add, in the layout of q and k.
    """

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
        attn, cos, q_len, k_len = _cosine_attention(q, k, temperature)
        ctx.save_for_backward(q, k, temperature, attn, cos, q_len, k_len)
        return attn

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_attn: torch.Tensor):
        q, k, temperature, attn, cos, q_len, k_len = ctx.saved_tensors
        grad_logits = attn * (grad_attn - (grad_attn * attn).sum(dim=-1, keepdim=True))  # softmax backward
        grad_temperature = (grad_logits * cos).sum(dim=(0, 2, 3)).reshape(temperature.shape)
        grad_cos = grad_logits * temperature
        q_norm, k_norm = q_len.clamp_min(_NORM_EPS), k_len.clamp_min(_NORM_EPS)
        grad_gram = grad_cos / (q_norm * k_norm.transpose(-2, -1))
        # d cos_ij / d|q_i| = -cos_ij / |q_i|, and d|q_i| / dq_i = q_i / |q_i| (zero where the norm is clamped)
        spread = grad_cos * cos
        q_scale = torch.where(q_len >= _NORM_EPS, -spread.sum(dim=-1, keepdim=True) / (q_norm * q_len), 0.0)
        k_scale = torch.where(k_len >= _NORM_EPS,
                              -spread.sum(dim=-2, keepdim=True).transpose(-2, -1) / (k_norm * k_len), 0.0)
        return (_scaled_plus_product(q, q_scale, k, grad_gram.transpose(-2, -1)),
                _scaled_plus_product(k, k_scale, q, grad_gram), grad_temperature)


def _scaled_plus_product(x: torch.Tensor, scale: torch.Tensor, other: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
    """``x * scale + (other^T @ mat)^T`` for x, other: (B, heads, C/heads, H*W) views of (B, H*W, C) tensors,
    computed in (B, H*W, heads, C/heads) order so that the result has the memory layout of ``x``."""
    out = x.permute(0, 3, 1, 2) * scale.permute(0, 3, 1, 2)
    out += torch.matmul(other.transpose(-2, -1), mat).transpose(1, 2)
    return out.permute(0, 2, 3, 1)


class Attention(nn.Module):
    """Multi-Dconv head transposed attention (MDTA).

    Attention is computed across channels (a C/heads x C/heads map per head), so the cost is
    linear in the number of pixels.  Under mixed precision the normalisation of q and k, the
    channel-by-channel map and its softmax are computed in float32: the spatial sums behind
    them overflow or lose too much precision in float16.

    ``forward(x, residual)`` returns ``residual + MDTA(x)``.
    """

    def __init__(self, dim: int, num_heads: int, bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, kernel_size=3, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)

    def _channel_attention(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Softmax of the (C/heads x C/heads) map of L2-normalised (over pixels) queries and keys."""
        temperature = self.temperature.to(q.dtype)
        if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or temperature.requires_grad):
            return _ChannelAttention.apply(q, k, temperature)
        return _cosine_attention(q, k, temperature)[0]

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        b, c, h, w = x.shape
        heads, ch = self.num_heads, c // self.num_heads
        # q, k and v as three tensors (B, H*W, C), each from its own GEMM and depth-wise convolution
        w_qkv, b_qkv = _split(self.qkv.weight.flatten(1), 3), _split(self.qkv.bias, 3)
        w_dw, b_dw = _split(self.qkv_dwconv.weight, 3), _split(self.qkv_dwconv.bias, 3)
        q, k, v = (_pixels_last(_depthwise(_linear(x, w_qkv[i], b_qkv[i]), w_dw[i], b_dw[i])).reshape(b, h * w, c)
                   for i in range(3))
        # (B, H*W, C) -> (B, heads, C/heads, H*W): views
        q = q.reshape(b, h * w, heads, ch).permute(0, 2, 3, 1)
        k = k.reshape(b, h * w, heads, ch).permute(0, 2, 3, 1)
        if _autocast_enabled(x.device.type):
            with torch.autocast(device_type=x.device.type, enabled=False):
                attn = self._channel_attention(q.float(), k.float())
        else:
            attn = self._channel_attention(q, k)
        # project_out(attn @ v) == (W_out @ blockdiag(attn)) @ v: fold the small map into the 1x1
        # projection, so that one GEMM over the pixels does both (and adds the residual).
        w_out = self.project_out.weight.flatten(1)  # (C, C)
        mix = torch.matmul(w_out.reshape(c, heads, ch).transpose(0, 1), attn.to(w_out.dtype))  # (B, heads, C, ch)
        mix_t = mix.permute(0, 2, 1, 3).reshape(b, c, c).transpose(1, 2)
        if residual is None:
            y = torch.matmul(v, mix_t)
        else:
            y = torch.baddbmm(_pixels_last(residual).reshape(b, h * w, c), v, mix_t)
        if self.project_out.bias is not None:
            y = y + self.project_out.bias
        return y.reshape(b, h, w, c).permute(0, 3, 1, 2)


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + MDTA(LN(x))`` then ``x + GDFN(LN(x))``."""

    def __init__(self, dim: int, num_heads: int, ffn_expansion_factor: float, bias: bool,
                 LayerNorm_type: str) -> None:
        super().__init__()
        self.norm1 = LayerNorm(dim, LayerNorm_type)
        self.attn = Attention(dim, num_heads, bias)
        self.norm2 = LayerNorm(dim, LayerNorm_type)
        self.ffn = FeedForward(dim, ffn_expansion_factor, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn(self.norm1(x), residual=x)
        return self.ffn(self.norm2(x), residual=x)


class OverlapPatchEmbed(nn.Module):
    """3x3 convolution embedding (always bias-free, as in the official model)."""

    def __init__(self, in_c: int = 3, embed_dim: int = 48, bias: bool = False) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_c, embed_dim, kernel_size=3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class Downsample(nn.Module):
    """3x3 conv halving the channels, then pixel-unshuffle: (n, H, W) -> (2n, H/2, W/2)."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat // 2, kernel_size=3, padding=1, bias=False),
                                  nn.PixelUnshuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """3x3 conv doubling the channels, then pixel-shuffle: (n, H, W) -> (n/2, 2H, 2W)."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat * 2, kernel_size=3, padding=1, bias=False),
                                  nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _stack(n: int, dim: int, heads: int, ffn_expansion_factor: float, bias: bool, ln: str) -> nn.Sequential:
    return nn.Sequential(*[TransformerBlock(dim, heads, ffn_expansion_factor, bias, ln) for _ in range(n)])


class Restormer(nn.Module):
    """Four-level pixel-unshuffle U-Net of transformer blocks with a refinement stage.

    Args:
        inp_channels: input channels (1 gray, 3 colour, 6 dual-pixel L+R).
        out_channels: output channels.
        dim: level-1 width C; levels use C, 2C, 4C, 8C.
        num_blocks: transformer blocks at levels 1-3 and the latent level; the decoder reuses 1-3.
        num_refinement_blocks: blocks of the refinement stage (width 2C).
        heads: attention heads per level (decoder level 1 and refinement use ``heads[0]``).
        ffn_expansion_factor: GDFN hidden width factor (hidden = ``int(width * factor)``).
        bias: bias in the convolutions of the blocks, the channel reductions and the output.
        LayerNorm_type: ``'WithBias'`` or ``'BiasFree'``.
        dual_pixel_task: adds ``skip_conv`` from the embedding to the output and drops the global
            residual (dual-pixel defocus deblurring, with ``inp_channels=6``).

    ``set_activation_checkpointing('block' | 'level' | None)`` trades compute for training memory.
    """

    #: height and width of an input must be multiples of this (three 2x pixel-unshuffles)
    size_multiple = 8
    CHECKPOINTING_MODES = (None, 'block', 'level')

    def __init__(self,
                 inp_channels: int = 3,
                 out_channels: int = 3,
                 dim: int = 48,
                 num_blocks: Sequence[int] = (4, 6, 6, 8),
                 num_refinement_blocks: int = 4,
                 heads: Sequence[int] = (1, 2, 4, 8),
                 ffn_expansion_factor: float = 2.66,
                 bias: bool = False,
                 LayerNorm_type: str = 'WithBias',
                 dual_pixel_task: bool = False) -> None:
        super().__init__()
        if len(num_blocks) != 4 or len(heads) != 4:
            raise ValueError(f'num_blocks and heads need 4 entries (levels 1-3 and latent), '
                             f'got num_blocks={list(num_blocks)}, heads={list(heads)}')
        for level, (width, h) in enumerate(zip((dim, dim * 2, dim * 4, dim * 8), heads), start=1):
            if width % h:
                raise ValueError(f'level {level} width {width} is not divisible by heads[{level - 1}]={h}')
        if dim * 2 % heads[0]:
            raise ValueError(f'decoder level 1 width {dim * 2} is not divisible by heads[0]={heads[0]}')
        if not dual_pixel_task and inp_channels != out_channels:
            raise ValueError(f'the global residual needs inp_channels == out_channels, got {inp_channels} and '
                             f'{out_channels} (set dual_pixel_task: true for the 6-channel dual-pixel model)')
        ffn, ln = ffn_expansion_factor, LayerNorm_type

        self.patch_embed = OverlapPatchEmbed(inp_channels, dim)
        self.encoder_level1 = _stack(num_blocks[0], dim, heads[0], ffn, bias, ln)
        self.down1_2 = Downsample(dim)
        self.encoder_level2 = _stack(num_blocks[1], dim * 2, heads[1], ffn, bias, ln)
        self.down2_3 = Downsample(dim * 2)
        self.encoder_level3 = _stack(num_blocks[2], dim * 4, heads[2], ffn, bias, ln)
        self.down3_4 = Downsample(dim * 4)
        self.latent = _stack(num_blocks[3], dim * 8, heads[3], ffn, bias, ln)

        self.up4_3 = Upsample(dim * 8)
        self.reduce_chan_level3 = nn.Conv2d(dim * 8, dim * 4, kernel_size=1, bias=bias)
        self.decoder_level3 = _stack(num_blocks[2], dim * 4, heads[2], ffn, bias, ln)
        self.up3_2 = Upsample(dim * 4)
        self.reduce_chan_level2 = nn.Conv2d(dim * 4, dim * 2, kernel_size=1, bias=bias)
        self.decoder_level2 = _stack(num_blocks[1], dim * 2, heads[1], ffn, bias, ln)
        self.up2_1 = Upsample(dim * 2)
        # Level 1 keeps the concatenated 2C channels: no reduction.
        self.decoder_level1 = _stack(num_blocks[0], dim * 2, heads[0], ffn, bias, ln)
        self.refinement = _stack(num_refinement_blocks, dim * 2, heads[0], ffn, bias, ln)

        self.dual_pixel_task = dual_pixel_task
        if dual_pixel_task:
            self.skip_conv = nn.Conv2d(dim, dim * 2, kernel_size=1, bias=bias)
        self.output = nn.Conv2d(dim * 2, out_channels, kernel_size=3, padding=1, bias=bias)
        self.activation_checkpointing: Optional[str] = None

    def set_activation_checkpointing(self, mode: Union[str, bool, None]) -> 'Restormer':
        """Recompute activations in the backward pass instead of keeping them (training memory).

        Args:
            mode: ``'block'`` checkpoints each TransformerBlock (keeps only block inputs), ``'level'``
                each stack of blocks (encoder/decoder levels, latent, refinement; keeps less, but
                recomputes a whole stack at a time), ``None``/``False`` turns it off.  Only active
                in training mode with gradients enabled; parameters and state_dict are unchanged.
        """
        mode = mode or None
        if mode not in self.CHECKPOINTING_MODES:
            raise ValueError(f"activation checkpointing mode must be one of 'block', 'level', None; got {mode!r}")
        self.activation_checkpointing = mode
        return self

    def _stack(self, stack: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        mode = self.activation_checkpointing
        if mode is None or not (self.training and torch.is_grad_enabled()):
            return stack(x)
        if mode == 'level':
            return checkpoint(stack, x, use_reentrant=False)
        for block in stack:
            x = checkpoint(block, x, use_reentrant=False)
        return x

    def forward(self, inp_img: torch.Tensor) -> torch.Tensor:
        if inp_img.shape[-2] % 8 or inp_img.shape[-1] % 8:
            raise ValueError(f'Restormer needs height and width divisible by 8, got {tuple(inp_img.shape[-2:])}; '
                             'pad the input (basicsr.utils.inference.pad_to_multiple)')
        # Channels-last end to end: LayerNorm and the 1x1 GEMMs then work on contiguous pixel rows and
        # oneDNN's depth-wise convolutions run in their fastest layout.
        x0 = self.patch_embed(inp_img.contiguous(memory_format=torch.channels_last))
        e1 = self._stack(self.encoder_level1, x0)
        e2 = self._stack(self.encoder_level2, self.down1_2(e1))
        e3 = self._stack(self.encoder_level3, self.down2_3(e2))
        lat = self._stack(self.latent, self.down3_4(e3))

        d3 = _pointwise(self.reduce_chan_level3, torch.cat([self.up4_3(lat), e3], 1))
        d3 = self._stack(self.decoder_level3, d3)
        d2 = _pointwise(self.reduce_chan_level2, torch.cat([self.up3_2(d3), e2], 1))
        d2 = self._stack(self.decoder_level2, d2)
        d1 = self._stack(self.decoder_level1, torch.cat([self.up2_1(d2), e1], 1))
        r = self._stack(self.refinement, d1)

        if self.dual_pixel_task:
            out = self.output(_pointwise(self.skip_conv, x0, residual=r))
        else:
            out = self.output(r) + inp_img
        return out.contiguous()  # the usual NCHW layout for callers


if __name__ == 'basicsr.models.archs.restormer_arch':
    # Registered only when imported as part of the package; a copy executed by path stays standalone.
    from basicsr.utils.registry import ARCH_REGISTRY

    ARCH_REGISTRY.register(Restormer)
