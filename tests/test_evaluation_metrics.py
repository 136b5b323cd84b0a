import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from hdsr_tf.evaluation.classification import classification_summary


def test_report_matches_hand_computed_and_sklearn():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    y_pred = np.array([0, 0, 1, 1, 1, 2, 2, 0, 2, 2])
    s = classification_summary(y_true, y_pred)
    assert s["accuracy"] == pytest.approx(0.7) and s["error"] == pytest.approx(0.3)
    # by hand: class 0 precision 2/3 recall 2/3; class 1 precision 2/3 recall 1; class 2 precision 3/4 recall 3/4
    assert s["report"]["0"]["precision"] == pytest.approx(2 / 3)
    assert s["report"]["1"]["recall"] == pytest.approx(1.0)
    assert s["report"]["2"]["f1-score"] == pytest.approx(0.75)
    assert s["report"]["3"]["support"] == 1 and s["report"]["3"]["recall"] == 0.0
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=range(10), zero_division=0)
    for c in range(10):
        assert s["report"][str(c)]["precision"] == pytest.approx(p[c])
        assert s["report"][str(c)]["recall"] == pytest.approx(r[c])
    assert s["macro_f1"] == pytest.approx(f.mean())
    cm = np.array(s["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 10 and cm[2, 0] == 1 and np.trace(cm) == 7
