"""Contact sheets: images in a grid, scaled up so that small images stay visible."""

from __future__ import annotations

from PIL import Image, ImageDraw

GAP = 4


def make_grid(rows: list[list[Image.Image]], min_cell: int = 128) -> Image.Image:
    """Rows of equally sized images -> one white-gapped sheet; cells scaled by an integer factor
    (nearest neighbour, so pixels stay crisp) until they are at least `min_cell` pixels wide."""
    cell = max(img.width for row in rows for img in row)
    scale = max(1, -(-min_cell // cell))
    side = cell * scale
    columns = max(len(row) for row in rows)
    sheet = Image.new("RGB", (columns * (side + GAP) + GAP, len(rows) * (side + GAP) + GAP), "white")
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            tile = img.convert("RGB").resize((side, side), Image.Resampling.NEAREST)
            sheet.paste(tile, (GAP + c * (side + GAP), GAP + r * (side + GAP)))
    return sheet


def label_rows(sheet: Image.Image, labels: list[str]) -> Image.Image:
    """`sheet` (a `make_grid` of len(labels) rows) with each row's label written in a margin on its left."""
    row_height = (sheet.height - GAP) / len(labels)
    width = int(max(ImageDraw.Draw(sheet).textlength(label) for label in labels)) + 3 * GAP
    out = Image.new("RGB", (sheet.width + width, sheet.height), "white")
    out.paste(sheet, (width, 0))
    draw = ImageDraw.Draw(out)
    for i, label in enumerate(labels):
        draw.text((2 * GAP, int(GAP + i * row_height + row_height / 2 - 6)), label, fill="black")
    return out
