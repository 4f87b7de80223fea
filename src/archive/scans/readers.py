"""Read an input file into pages: PDF (scanned, or born-digital with a text layer), PNG, JPEG,
multi-page TIFF. Anything unreadable raises BadInput with a Chinese reason; the file itself is
never changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from archive.index.analysis import is_han

SUPPORTED = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
MAX_PIXELS = 120_000_000      # about A3 at 1200 dpi; larger is refused, not decoded
RENDER_DPI = 300
MIN_TEXT_LAYER_CHARS = 20     # fewer meaningful characters: treat the page as a scan


class BadInput(Exception):
    """A file that cannot be ingested; the message is the Chinese reason."""


@dataclass(frozen=True)
class Limits:
    """What one file may ask of memory (config.yaml `ingest`): pages are read one at a time, and
    a page's image at the render resolution may not exceed `max_page_pixels` (an RGB page costs
    about 3 bytes a pixel, several times over while it is prepared and OCR'd)."""

    max_pages: int = 300
    max_page_pixels: int = 36_000_000   # about A2 at 300 dpi; 120 MP of RGB is already 2.4 GB in use

    def check_pages(self, count: int) -> None:
        if count > self.max_pages:
            raise BadInput(f"页数过多（{count} 页，上限 {self.max_pages} 页，见 config.yaml 的 ingest.max_pages），"
                           "请拆分后再导入")

    def check_pixels(self, width: float, height: float, what: str) -> None:
        if width * height > self.max_page_pixels:
            raise BadInput(f"{what}过大（{width:.0f} × {height:.0f} 像素，上限 {self.max_page_pixels:,} 像素，"
                           "见 config.yaml 的 ingest.max_page_pixels），为安全起见不予处理")


@dataclass
class SourcePage:
    number: int                 # 1-based
    image: Image.Image | None   # RGB page image (None only for text-layer pages not rendered)
    text_layer: str | None      # born-digital text, if the page has it
    dpi: float
    of: int = 0                 # pages in the file (0: not known)


_HAN_SPACE = re.compile(r"(?<=\S) (?=\S)")


def join_han_spaces(text: str) -> str:
    """OCR text layers (OCRmyPDF's among them) put a space between Han characters; remove it."""
    def fix(line: str) -> str:
        out = []
        for index, char in enumerate(line):
            if char == " " and 0 < index < len(line) - 1 and is_han(line[index - 1]) and is_han(line[index + 1]):
                continue
            out.append(char)
        return "".join(out)
    return "\n".join(fix(line) for line in text.splitlines())


def _meaningful(text: str) -> int:
    return sum(1 for c in text if is_han(c) or c.isalnum())


def check_file(path: Path) -> str:
    """The file's kind (pdf, image) after basic checks."""
    if not path.exists():
        raise BadInput("文件不存在")
    size = path.stat().st_size
    if size == 0:
        raise BadInput("文件为空（0 字节），可能扫描或传输中断")
    suffix = path.suffix.lower()
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff") or head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image"
    if suffix in SUPPORTED:
        raise BadInput(f"文件扩展名为 {suffix}，但内容不是有效的 {suffix.lstrip('.').upper()} 文件（文件可能已损坏）")
    raise BadInput(f"不支持的文件格式「{suffix or '无扩展名'}」，只接收 PDF、PNG、JPEG、TIFF")


def read_pages(path: Path, dpi: int = RENDER_DPI, limits: Limits | None = None) -> Iterator[SourcePage]:
    """The pages one at a time: a caller that lets each page go keeps memory bounded."""
    limits = limits or Limits()
    kind = check_file(path)
    if kind == "pdf":
        yield from _read_pdf(path, dpi, limits)
    else:
        yield from _read_image(path, limits)


OWNER_PASSWORD_REASON = ("PDF 设有权限密码（打开不需要密码，但限制打印、复制或修改），加密的文件不能作为档案长期保存"
                         "（四性检测不通过）；请提供未加密的文件（例如用扫描软件重新导出）")


def _read_pdf(path: Path, dpi: int, limits: Limits) -> Iterator[SourcePage]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 2048))
        tail = handle.read()
    if b"%%EOF" not in tail:
        raise BadInput("PDF 文件不完整（没有结束标记），可能传输中断，请重新扫描或复制")
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        message = str(exc).lower()
        if "password" in message:
            raise BadInput("PDF 已加密（需要密码），请提供未加密的文件") from None
        raise BadInput(f"PDF 文件已损坏，无法打开（{exc}）") from None
    try:
        if pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw) != -1:
            # opens without a password, yet encrypted: verify (可用性) refuses encrypted files
            raise BadInput(OWNER_PASSWORD_REASON)
        if len(document) == 0:
            raise BadInput("PDF 中没有任何页面")
        _check_signatures(path)
        limits.check_pages(len(document))
        scale = dpi / 72
        for index in range(len(document)):
            width, height = document.get_page_size(index)
            limits.check_pixels(width * scale, height * scale, f"第{index + 1}页（{width / 72 * 25.4:.0f} × "
                                f"{height / 72 * 25.4:.0f} 毫米，{dpi} dpi 时）")
            page = document[index]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            text_layer = join_han_spaces(text) if _meaningful(text) >= MIN_TEXT_LAYER_CHARS else None
            image = page.render(scale=dpi / 72).to_pil().convert("RGB")
            yield SourcePage(index + 1, image, text_layer, dpi, len(document))
            page.close()
    finally:
        document.close()


def _check_signatures(path: Path) -> None:
    """A PDF whose digital signature no longer matches would fail verify (真实性) forever once filed:
    quarantine it instead. An intact signature by a third party (a hospital, a bank) is fine."""
    from archive.signing import validate

    if not validate._may_be_signed(path):
        return
    result = validate.check_pdf(path)
    if result.status in (validate.ALTERED, validate.MODIFIED, validate.UNREADABLE):
        raise BadInput(f"PDF 中的数字签名核验结果为「{result.status}」（{result.message}）：文件可能在签名后被改动过，"
                       "不能作为真实的档案归档（四性检测不通过）；请向出具单位索取原始文件")


def _read_image(path: Path, limits: Limits) -> Iterator[SourcePage]:
    import warnings

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # the size is checked right below, before anything is decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
        width, height = image.size  # read from the header, before any decoding
        if width * height > MAX_PIXELS:
            raise BadInput(f"图像过大（{width} × {height} 像素），为安全起见不予解码")
        limits.check_pixels(width, height, "图像")
        frames = getattr(image, "n_frames", 1)
        limits.check_pages(frames)
        for index in range(frames):
            image.seek(index)
            limits.check_pixels(image.size[0], image.size[1], f"第{index + 1}帧图像")
            # a copy of the frame, turned as its EXIF says (one full-page copy: the page is
            # copied no more than that, and not converted when it is RGB already)
            frame = ImageOps.exif_transpose(image)
            dpi = float((image.info.get("dpi") or (0, 0))[0] or 0) or _guess_dpi(frame)
            frame.load()
            yield SourcePage(index + 1, frame if frame.mode == "RGB" else frame.convert("RGB"), None, dpi, frames)
    except BadInput:
        raise
    except Image.DecompressionBombError:
        raise BadInput("图像过大，为安全起见不予解码") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInput(f"图像文件已损坏或不完整，无法解码（{exc}）") from None


def _guess_dpi(image: Image.Image) -> float:
    """Phone photos carry no resolution; assume the page is A4 across its shorter side."""
    return min(image.size) / (210 / 25.4)
