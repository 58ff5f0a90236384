"""The structure trees of tagged parts grafted into one (dossier/pdf/tags.py), on small documents."""
import io

import pikepdf
import weasyprint
from pypdf import PdfWriter

from dossier.pdf import tags
from dossier.typeset.weasy import _pieces, _seams

PAGE = "@page { size: 80mm 60mm; margin: 5mm } body { font: 10pt/12pt serif }"


def grafted(body: str) -> pikepdf.Pdf:
    """``body`` typeset tagged and its tree prepared, as a part is (with what its layout says of
    page breaks and text), its pages merged as the book's are, its tree grafted."""
    html = f"<html lang=en><head><title>T</title><style>{PAGE}</style></head><body>{body}</body></html>"
    document = weasyprint.HTML(string=html).render()
    part = tags.prepare(document.write_pdf(pdf_variant="pdf/ua-1"), None, _seams(document), _pieces(document))
    writer, merged = PdfWriter(), io.BytesIO()
    writer.append(io.BytesIO(part))
    writer.write(merged)
    return pikepdf.open(io.BytesIO(tags.graft(merged.getvalue(), [tags.Part(part, 0)], "en")))


def elements(pdf: pikepdf.Pdf, role: str) -> list:
    found, stack = [], [pdf.Root.StructTreeRoot.K]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
        elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
            found += [node] if node.S == role else []
            stack += [node.K] if "/K" in node else []
    return found


def test_a_table_that_goes_over_a_page_is_one_table_its_repeated_header_an_artifact():
    rows = "".join(f"<tr><th scope=row>R{i}</th><td>cell {i}</td></tr>" for i in range(12))
    pdf = grafted(f"<table><thead><tr><th>Head</th><th>Value</th></tr></thead><tbody>{rows}</tbody></table>")
    assert len(pdf.pages) == 2
    assert len(elements(pdf, "/Table")) == 1 and len(elements(pdf, "/THead")) == 1 and len(elements(pdf, "/TR")) == 13
    ids = {str(pdf.Root.StructTreeRoot.IDTree.Names[i]) for i in range(0, len(pdf.Root.StructTreeRoot.IDTree.Names), 2)}
    named = [str(h) for cell in elements(pdf, "/TD") for h in cell.A.Headers]
    assert named and set(named) <= ids  # every data cell's headers are cells the tree has
    assert {str(cell.A.Scope) for cell in elements(pdf, "/TH")} == {"/Column", "/Row"}
    second = [op for op in pikepdf.parse_content_stream(pdf.pages[1]) if str(op[1]) == "BMC"]
    assert any(operands[0] == "/Artifact" for operands, _ in second)  # the header drawn again


def test_two_tables_on_two_pages_stay_two():
    first = "<table><tbody>" + "<tr><td>a</td><td>b</td></tr>" * 3 + "</tbody></table>"
    second = "<table style='break-before: page'><tbody>" + "<tr><td>a</td><td>b</td><td>c</td></tr>" * 3 + "</tbody></table>"
    assert len(elements(grafted(first + second), "/Table")) == 2


def test_a_chapter_and_a_name_in_another_language_say_so():
    """/Lang where the language changes, from what the typesetting reports of each piece of text:
    a section in Lithuanian, a Polish name inside it, an English section; nothing where the
    language is the book's, or a variant of it (en-US in an English book)."""
    body = ("<section lang=lt><h1>Taikos sutartis</h1><p>Sutartis pasirašyta Maskvoje. "
            "Lenkų vardas <span lang=pl>Żeligowski</span> minimas.</p></section>"
            "<section lang=en-US><h1>Peace</h1><p>The treaty was signed in Moscow.</p></section>")
    pdf = grafted(body)
    sections = [kid for kid in pdf.Root.StructTreeRoot.K[0].K if kid.get("/S") == "/Sect"]  # in order
    assert [str(s.get("/Lang", "")) for s in sections] == ["lt", ""]
    polish = [e for role in ("/Span", "/NonStruct", "/P") for e in elements(pdf, role) if "/Lang" in e]
    assert [str(e.Lang) for e in polish] == ["pl"]

