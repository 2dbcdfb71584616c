"""One process of tests/test_accelerate.py's data-parallel run (``accelerate launch``).

Every process trains the same AcceleratedCXRClassifier on the same blob images
(unseeded, so the seeds the main process draws must reach the others), then
writes what the test compares: a checksum of its final weights, the images it
trained on in each epoch, its validation split and history, and its gathered
predictions. The main process also saves ``to_classifier()`` with joblib.

Usage: python -m accelerate.commands.launch ... accelerate_worker.py OUT_DIR
"""

import hashlib
import json
import sys
from pathlib import Path

# make_blob_images arguments, shared with the test. 48 images of 24 patients:
# the validation split holds 12, leaving 36 = 6 batches of 6, 3 per process.
TRAIN = dict(n=48, size=32, seed=3)
NEW = dict(n=13, size=32, seed=4)  # 13 images: the last round of batches is padded
BATCH_SIZE = 6


def state_checksum(state_dict):
    """sha256 of every tensor of a state dict, by name."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        digest.update(name.encode())
        digest.update(state_dict[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def image_fingerprint(image):
    return hashlib.sha1(image.cpu().numpy().tobytes()).hexdigest()


def main(out_dir):
    # Imported here: pytest imports this file to collect doctests.
    import joblib
    import numpy as np
    from accelerate import Accelerator
    from conftest import make_blob_images
    from skorch.callbacks import Callback

    from skcxr import AcceleratedCXRClassifier

    class RecordData(Callback):
        """Per epoch: the validation indices, and the training images this process saw."""

        def initialize(self):
            self.valid_indices_, self.train_images_ = [], []
            return self

        def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
            self.valid_indices_.append([int(i) for i in dataset_valid.indices])
            self.train_images_.append([])

        def on_batch_end(self, net, batch=None, training=False, **kwargs):
            if training:
                self.train_images_[-1] += [image_fingerprint(image) for image in batch[0]]

    out_dir = Path(out_dir)
    accelerator = Accelerator(cpu=True)
    X, y, groups = make_blob_images(**TRAIN)
    X_new, _, _ = make_blob_images(**NEW)
    recorder = RecordData()
    net = AcceleratedCXRClassifier(
        "tiny", accelerator=accelerator, lr=0.05, max_epochs=2, batch_size=BATCH_SIZE,
        validation_fraction=0.25, patience=1, weight_averaging=0.9,
        lr_schedule=None,  # the cosine schedule ends at lr=0, where partial_fit would go on
        normalization="dataset", callbacks=[("record", recorder)],
    )
    net.fit(X, y, groups=groups)
    net.partial_fit(X, y, epochs=1)  # wrapped again, or the processes would drift apart

    proba = net.predict_proba(X_new)
    features = net.embed(X_new)
    model = net.to_classifier(callbacks=None)  # RecordData lives in this script only
    rank = accelerator.process_index
    record = {
        "num_processes": accelerator.num_processes,
        "weights": state_checksum(net.module_.state_dict()),
        "saved_weights": state_checksum(model.module_.state_dict()),
        "module_type": type(net.module_).__name__,
        "valid_indices": recorder.valid_indices_,
        "train_images": recorder.train_images_,
        "history": [{key: row.get(key) for key in ("train_loss", "valid_loss", "valid_auc")}
                    for row in net.history],
        "proba": proba.tolist(),
    }
    (out_dir / f"rank{rank}.json").write_text(json.dumps(record))
    if accelerator.is_main_process:
        joblib.dump(model, out_dir / "model.joblib")
        np.save(out_dir / "proba.npy", proba)
        np.save(out_dir / "features.npy", features)
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(sys.argv[1])
