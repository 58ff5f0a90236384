"""The archival variant (``archival = true``, ``--archival``): PDF/A-2a, on top of the PDF/UA-1
tagging every output has (PDF/A-2a asks for a tagged file with Unicode text, which it is).

What PDF/A-2 asks beyond that, and this adds: an output intent with the sRGB colour profile (the
one WeasyPrint ships, for its own PDF/A variants), links that print (annotation flag 4), and XMP
metadata that names the part and conformance, with the PDF/A extension schema that declares the
PDF/UA identification (PDF/A allows only declared properties). The fonts are embedded and
subsetted by WeasyPrint, with their Unicode maps; nothing is encrypted, nothing is a script.
"""
from __future__ import annotations

import io
import re
from importlib.resources import files

import pikepdf
from pikepdf import Array, Dictionary, Name

from . import tags

PROFILE = "sRGB2014.icc"

# Declares the pdfuaid schema for PDF/A (ISO 19005-2, 6.6.2.3.1), as the PDF/UA reference suite does.
_EXTENSION = """<rdf:Description xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
  xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"
  rdf:about=""><pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
<pdfaProperty:name>part</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType>
<pdfaProperty:category>internal</pdfaProperty:category>
<pdfaProperty:description>Indicates, which part of ISO 14289 standard is followed</pdfaProperty:description>
</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>"""


def archival(data: bytes) -> bytes:
    """``data`` (a tagged PDF with PDF/UA-1 metadata) made PDF/A-2a as well."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        profile = pdf.make_stream((files("weasyprint.pdf") / PROFILE).read_bytes(), N=3, Alternate=Name.DeviceRGB)
        pdf.Root.OutputIntents = Array([Dictionary(
            Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier=pikepdf.String(PROFILE),
            Info=pikepdf.String(PROFILE), DestOutputProfile=profile)])
        for page in pdf.pages:
            for annotation in page.obj.get("/Annots", Array()):
                annotation.F = 4  # printed with the page, as PDF/A asks
        tags.identify(pdf, ("2", "A"))  # PDF/A: the same title, author, dates in XMP as in the information
        xmp = pdf.Root.Metadata.read_bytes().decode("utf-8")
        xmp = re.sub(r"(</rdf:RDF>)", _EXTENSION.replace("\\", "\\\\") + r"\1", xmp, count=1)
        pdf.Root.Metadata = pdf.make_stream(xmp.encode("utf-8"), Type=Name.Metadata, Subtype=Name.XML)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()
