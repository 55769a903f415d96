"""Draw the brand icons: Plex's chevron beside a chain link, icon.png (256) and icon@2x.png (512)."""

from pathlib import Path

from PIL import Image, ImageDraw

SCALE = 4
SIZE = 256 * SCALE
ORANGE = (229, 160, 13, 255)
DARK = (31, 31, 31, 255)
LIGHT = (240, 240, 240, 255)


def draw() -> Image.Image:
    """Return the icon, drawn large and scaled down for smooth edges."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, SIZE - 1, SIZE - 1), radius=48 * SCALE, fill=DARK)
    s = SCALE
    pen.polygon(
        [
            (28 * s, 56 * s),
            (74 * s, 56 * s),
            (124 * s, 128 * s),
            (74 * s, 200 * s),
            (28 * s, 200 * s),
            (78 * s, 128 * s),
        ],
        fill=ORANGE,
    )
    for box in (
        (134 * s, 100 * s, 194 * s, 140 * s),
        (170 * s, 116 * s, 230 * s, 156 * s),
    ):
        pen.rounded_rectangle(box, radius=20 * s, outline=LIGHT, width=11 * s)
    return image


if __name__ == "__main__":
    brand = Path(__file__).parent.parent / "custom_components/plex_link/brand"
    icon = draw()
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        icon.resize((size, size), Image.Resampling.LANCZOS).save(
            brand / name, optimize=True
        )
        print(f"Wrote {brand / name}")
