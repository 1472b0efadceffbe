"""The Chinese (中文) catalogue of the explorers' controls, captions and messages.

Keyed by the English text that :mod:`helpers.widgets` passes to :func:`helpers.i18n.localized`
(templates keep their ``{fields}``; values such as layer names, shapes and probabilities are filled
in as they are). Terms follow ``notebooks/00_glossary.md`` (层, 通道, 特征图, 热力图, 类别). The
figures' own titles stay English: Colab has no CJK font by default.

Taught in: the explorers of the Chinese edition (``notebooks/zh/``).
"""

from __future__ import annotations

__all__ = ["CATALOGUE"]

CATALOGUE: dict[str, str] = {
    # the image chooser and uploads
    "Image": "图像",
    "Upload": "上传",
    "ImageChooser needs at least one image.": "ImageChooser 至少需要一张图像。",
    "No file was uploaded.": "没有上传文件。",
    "The uploaded file {name} is not a readable image: {error}": "上传的文件 {name} 不是可读取的图像：{error}",
    # the activation explorer (chapter 1)
    "Layer": "层",
    "Channel": "通道",
    "No maps for layer {layer}; available: {available}.": "层 {layer} 没有特征图；可选的层：{available}。",
    "Expected (h, w, c) maps for one image; got shape {shape} for {layer}.":
        "应为一张图像的 (h, w, c) 特征图；层 {layer} 收到的形状是 {shape}。",
    "Layer {layer} has channels 0..{last}; got channel {channel}.":
        "层 {layer} 的通道编号是 0..{last}；收到的是通道 {channel}。",
    "all zero for this image": "对这张图像全为零",
    "peak {peak:.2f}, zero at {zeros:.0%} of positions": "峰值 {peak:.2f}，{zeros:.0%} 的位置为零",
    "{layer} · channel {channel} of {c} · {h}×{w} map · {status}":
        "{layer} · 通道 {channel}（共 {c} 个）· {h}×{w} 特征图 · {status}",
    # the CAM explorer (chapters 3 and 4)
    "Method": "方法",
    "Class": "类别",
    "Alpha": "透明度",
    "top class": "得分最高的类别",
    "layer {layer}": "层 {layer}",
    "input pixels": "输入像素",
    " · no positive evidence (map is all zeros)": " · 没有正的证据（热力图全为零）",
    "explaining '{name}' (p = {p:.3f}) · model's top class: '{top}' (p = {p_top:.3f}) · {where}{empty}":
        "解释的类别：“{name}”（p = {p:.3f}）· 模型得分最高的类别：“{top}”（p = {p_top:.3f}）· {where}{empty}",
}
"""{English control label, caption or message: its Chinese}; registered by :mod:`helpers.widgets`."""
