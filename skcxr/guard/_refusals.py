"""Why a file was not screened: a stable code for programs, a sentence for people.

Reports, benchmarks and pipelines group and count refusals by ``code``;
``message`` says what was found in this file ("lateral view (DICOM
ViewPosition LL)"). Nothing downstream parses the sentence.
"""

from dataclasses import dataclass

# Codes of films the input guard refuses (worklist status "unsuitable") and
# of files that cannot be read (status "error"), each with what it means in
# plain words: the report and the docs show these explanations.
UNSUITABLE_CODES = {
    "not_radiograph": "Not a radiograph: the DICOM header names another modality (CT, MR, "
                      "ultrasound, ...).",
    "not_chest": "Not the chest: the DICOM header names another body part.",
    "lateral": "A lateral view; the model reads frontal (AP/PA) films only.",
    "oblique": "An oblique view; the model reads frontal (AP/PA) films only.",
    "colour": "A colour picture (a photograph, a screenshot, a document), not a grey X-ray film.",
    "too_small": "Too few pixels to be a film (a thumbnail, an icon).",
    "binary": "A black-and-white (1-bit) picture, such as a scanned document or a drawing: a "
              "film has grey levels.",
    "aspect_ratio": "Far wider than high, or the reverse: a banner or a strip, not a chest film.",
    "blank": "A near-constant frame: blank, burnt out or a uniform fill; there is nothing to read.",
    "inverted": "A film with its greys inverted (a negative): bone dark, air bright.",
    "rotated": "A film on its side or upside down.",
    "multi_frame": "Several frames or pages in one file (a multi-page TIFF, an animated GIF or "
                   "PNG, a multi-frame DICOM); the model reads one film per file and never picks "
                   "one. Split the file into one file per film first.",
    "unlike_training": "Unlike the films the model was trained on: its novelty score (how far "
                       "the film lies from the training films, in what the network makes of it "
                       "and in its overall layout) is above the limit that all but a small, "
                       "stated share of the training films stay under. Often a film of another "
                       "population, device or view.",
}
ERROR_CODES = {
    "missing": "The file was not found: it does not exist, or was moved or deleted.",
    "not_regular_file": "Not a regular file (a folder or a link to one, a named pipe, a socket "
                        "or a device): never opened, so a screen cannot hang on it.",
    "broken_link": "A symbolic link whose target does not exist.",
    "link_loop": "A symbolic link that leads back to itself.",
    "permission": "The file cannot be opened: permission denied.",
    "not_image": "Not an image (a text file, a PDF, an archive, an empty file).",
    "truncated": "An image file cut short (an interrupted copy or download).",
    "unreadable": "An image file that cannot be decoded (corrupt data).",
    "unsupported_dicom": "A DICOM file whose pixel data skcxr cannot turn into one grey film "
                         "(a colour image, a compression without a decoder installed).",
    "needs_pydicom": "A DICOM file, and pydicom is not installed: pip install 'skcxr[dicom]'.",
    "too_large": "More pixels than the loader's max_pixels limit (a possible decompression "
                 "bomb); refused from the header, before any pixel is decoded.",
}
REFUSAL_CODES = {**UNSUITABLE_CODES, **ERROR_CODES}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one file or image was not screened.

    Parameters
    ----------
    code : str
        One of :data:`REFUSAL_CODES`, stable across releases: group and count by it.
    message : str
        What was found in this file, for a person.

    Examples
    --------
    >>> from skcxr.guard import Refusal
    >>> refusal = Refusal("lateral", "lateral view (DICOM ViewPosition LL)")
    >>> str(refusal), refusal.status
    ('lateral view (DICOM ViewPosition LL)', 'unsuitable')
    """

    code: str
    message: str

    def __post_init__(self):
        if self.code not in REFUSAL_CODES:
            raise ValueError(f"Unknown refusal code {self.code!r}; known: {sorted(REFUSAL_CODES)}.")

    def __str__(self):
        return self.message

    @property
    def status(self):
        """``"unsuitable"`` for a film the guard refuses, ``"error"`` for a file that cannot be read."""
        return "unsuitable" if self.code in UNSUITABLE_CODES else "error"

    @property
    def explanation(self):
        """What the code means, in plain words (the same for every file with this code)."""
        return REFUSAL_CODES[self.code]


def messages(refusals):
    """The sentences of a sequence of refusals, ``""`` where there is none (accepted)."""
    return [r.message if r is not None else "" for r in refusals]


def distinct_numbers(value, limit, *, digits=2):
    """``value`` and ``limit`` formatted with enough digits that they read as different.

    A novelty of 2.634 above a limit of 2.631 must not print as "2.6 > 2.6".
    """
    for places in range(digits, 7):
        a, b = f"{value:.{places}f}", f"{limit:.{places}f}"
        if a != b:
            return a, b
    return f"{value:.6g}", f"{limit:.6g}"
