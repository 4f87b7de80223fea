"""PDF/A-2b (ISO 19005-2, level B) for the archival PDFs the project writes: notices from birth,
the 归档 copies, the filing catalogues and exports.

What a PDF/A-2b file needs beyond what reportlab and pypdf write, and what this module adds:
XMP metadata in the catalog (pdfaid:part 2, pdfaid:conformance B, the document information
repeated with the same values), an output intent with an ICC profile (sRGB, made by LittleCMS
through Pillow: nothing is downloaded), and a file identifier. What it cannot add it checks: every
font embedded, no encryption, no JavaScript; a file that fails is written without the PDF/A claim
(`conforms` says why), and a file the project makes itself must conform (`to_pdfa` raises).

The claim is checked in tests by these markers and by `qpdf --check`; a full validator
(veraPDF) is not packaged for Debian and is not run here.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from functools import lru_cache
from xml.sax.saxutils import escape

import pypdf
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

# no /Producer: a later signature (pyHanko) writes its own into both the information dictionary
# and the XMP, which then agree; one written here would be extended in one place only
OUTPUT_CONDITION = "sRGB IEC61966-2.1"


# the document information entries with an XMP equivalent, which must agree with it
STANDARD_INFO = ("/Title", "/Author", "/Subject", "/Keywords", "/Creator", "/Producer", "/CreationDate", "/ModDate",
                 "/Trapped")


class PdfAError(Exception):
    """A PDF the project made itself does not meet PDF/A-2b (a bug, never user input)."""


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """An sRGB ICC profile (LittleCMS's built-in, via Pillow)."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _pdf_date(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"D:{moment:%Y%m%d%H%M%S}{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"


def _xmp_date(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def xmp_packet(info: dict[str, str], moment: dt.datetime, document_id: str, claim: bool = True) -> bytes:
    """The XMP metadata: the document information dictionary's values, and the PDF/A claim."""
    def alt(tag: str, value: str) -> str:
        return (f"<{tag}><rdf:Alt><rdf:li xml:lang=\"x-default\">{escape(value)}</rdf:li></rdf:Alt></{tag}>")

    parts = []
    if info.get("/Title"):
        parts.append(alt("dc:title", info["/Title"]))
    if info.get("/Author"):
        parts.append(f"<dc:creator><rdf:Seq><rdf:li>{escape(info['/Author'])}</rdf:li></rdf:Seq></dc:creator>")
    if info.get("/Subject"):
        parts.append(alt("dc:description", info["/Subject"]))
    if info.get("/Keywords"):
        parts.append(f"<pdf:Keywords>{escape(info['/Keywords'])}</pdf:Keywords>")
    if info.get("/Creator"):
        parts.append(f"<xmp:CreatorTool>{escape(info['/Creator'])}</xmp:CreatorTool>")
    if info.get("/Producer"):
        parts.append(f"<pdf:Producer>{escape(info['/Producer'])}</pdf:Producer>")
    stamp = _xmp_date(moment)
    parts += [f"<xmp:CreateDate>{stamp}</xmp:CreateDate>", f"<xmp:ModifyDate>{stamp}</xmp:ModifyDate>",
              f"<xmp:MetadataDate>{stamp}</xmp:MetadataDate>",
              f"<xmpMM:DocumentID>uuid:{document_id}</xmpMM:DocumentID>",
              f"<xmpMM:InstanceID>uuid:{document_id}</xmpMM:InstanceID>"]
    if claim:
        parts += ["<pdfaid:part>2</pdfaid:part>", "<pdfaid:conformance>B</pdfaid:conformance>"]
    body = "\n   ".join(parts)
    text = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   {body}
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
{' ' * 2000}
<?xpacket end="w"?>"""
    return text.encode("utf-8")


def _fonts_of(resources, seen: set[int], out: list[str]) -> None:
    resources = resources.get_object() if resources is not None else None
    if not resources:
        return
    for ref in (resources.get("/Font") or {}).values():
        font = ref.get_object()
        if id(font) in seen:
            continue
        seen.add(id(font))
        subtype = font.get("/Subtype")
        if subtype == "/Type3":
            _fonts_of(font.get("/Resources"), seen, out)
            continue
        descriptor = font.get("/FontDescriptor")
        if descriptor is None and "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        if not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
            out.append(str(font.get("/BaseFont", "?")))
    for ref in (resources.get("/XObject") or {}).values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Form" and id(xobject) not in seen:
            seen.add(id(xobject))
            _fonts_of(xobject.get("/Resources"), seen, out)


def unembedded_fonts(pdf: pypdf.PdfReader | pypdf.PdfWriter) -> list[str]:
    """Names of the fonts used on any page (or in its forms) whose program is not embedded."""
    out: list[str] = []
    seen: set[int] = set()
    for page in pdf.pages:
        _fonts_of(page.get("/Resources"), seen, out)
        for annot in page.get("/Annots") or []:
            appearance = (annot.get_object().get("/AP") or {}).get("/N")
            if appearance is not None and hasattr(appearance.get_object(), "get"):
                _fonts_of(appearance.get_object().get("/Resources"), seen, out)
    return sorted(set(out))


def problems(writer: pypdf.PdfWriter) -> list[str]:
    """Why the document in `writer` cannot claim PDF/A-2b (empty when it can)."""
    found = [f"字体未嵌入：{name}" for name in unembedded_fonts(writer)]
    root = writer._root_object
    names = root.get("/Names")
    if names is not None and "/JavaScript" in names.get_object():
        found.append("含有 JavaScript")
    action = root.get("/OpenAction")
    if action is not None and hasattr(action.get_object(), "get") and action.get_object().get("/S") == "/JavaScript":
        found.append("含有 JavaScript")
    if getattr(writer, "_encryption", None) is not None or "/Encrypt" in writer._root_object:
        found.append("已加密")
    return found


def finish(writer: pypdf.PdfWriter, *, title: str | None = None, moment: dt.datetime | None = None) -> list[str]:
    """Make the document in `writer` PDF/A-2b: XMP metadata matching the document information,
    an sRGB output intent, a file identifier. Returns the problems that keep it from conforming;
    when there are any, the XMP is written without the PDF/A claim."""
    moment = (moment or dt.datetime.now().astimezone()).replace(microsecond=0)
    found = problems(writer)
    info = {key: str(value) for key, value in (writer.metadata or {}).items()
            if key in ("/Title", "/Author", "/Subject", "/Keywords", "/Creator") and str(value).strip()
            and str(value) not in ("(anonymous)", "(unspecified)")}  # reportlab's placeholders
    if title:
        info["/Title"] = title
    # the information dictionary holds exactly what the XMP repeats (ISO 19005-2 6.6.2.3)
    metadata = {key: TextStringObject(value) for key, value in info.items()}
    metadata["/CreationDate"] = TextStringObject(_pdf_date(moment))
    metadata["/ModDate"] = TextStringObject(_pdf_date(moment))
    if writer._info is not None:  # drop stale standard entries (Trapped, other dates); keep custom ones
        for key in STANDARD_INFO:
            writer._info.pop(NameObject(key), None)
    writer.add_metadata(metadata)
    document_id = str(uuid.uuid4())
    stream = DecodedStreamObject()
    stream.set_data(xmp_packet(info, moment, document_id, claim=not found))
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    root = writer._root_object
    root[NameObject("/Metadata")] = writer._add_object(stream)
    intents = root.get("/OutputIntents")
    if not intents or not any(i.get_object().get("/S") == "/GTS_PDFA1" for i in intents.get_object()):
        profile = DecodedStreamObject()
        profile.set_data(srgb_profile())
        profile[NameObject("/N")] = NumberObject(3)
        intent = DictionaryObject({
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject(OUTPUT_CONDITION),
            NameObject("/Info"): TextStringObject(OUTPUT_CONDITION),
            NameObject("/DestOutputProfile"): writer._add_object(profile),
        })
        root[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    if not writer._ID:
        writer.generate_file_identifiers()
    writer.pdf_header = "%PDF-1.7"  # PDF/A-2 is ISO 32000-1 (PDF 1.7) based
    return found


def to_pdfa(blob: bytes, *, title: str | None = None) -> bytes:
    """PDF/A-2b bytes of a PDF the project generated itself (reportlab); raises PdfAError when it
    cannot conform, which is a bug in the generator, not in any input."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(blob)))
    found = finish(writer, title=title)
    if found:
        raise PdfAError("生成的 PDF 不符合 PDF/A-2b：" + "；".join(found))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def is_pdfa(pdf: pypdf.PdfReader) -> bool:
    """The file claims PDF/A-2b in its XMP and carries an output intent."""
    root = pdf.trailer["/Root"]
    if "/Metadata" not in root or "/OutputIntents" not in root:
        return False
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8", "replace")
    return "<pdfaid:part>2</pdfaid:part>" in xmp or 'pdfaid:part="2"' in xmp


def file_problems(path) -> list[str]:
    """Why a written file is not PDF/A-2b: no claim, or fonts not embedded (empty when it is)."""
    reader = pypdf.PdfReader(str(path))
    found = [f"字体未嵌入：{name}" for name in unembedded_fonts(reader)]
    if not is_pdfa(reader):
        found.append("没有 PDF/A 标识")
    return found
