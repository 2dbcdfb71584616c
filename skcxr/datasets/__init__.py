"""Datasets: the Kermany chest X-ray set and any image-folder dataset.

Loaders return image file paths, labels and patient ids in a scikit-learn
:class:`~sklearn.utils.Bunch`; :class:`skcxr.preprocessing.ImageLoader`
decodes the images.
"""

from ._base import get_skcxr_data_home, load_image_folder
from ._chest_xray import chest_xray_patient_id, load_chest_xray
from ._fetch import fetch_chest_xray

__all__ = [
    "chest_xray_patient_id",
    "fetch_chest_xray",
    "get_skcxr_data_home",
    "load_chest_xray",
    "load_image_folder",
]
