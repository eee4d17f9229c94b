"""What every log and every step must satisfy, whatever the input: the
model's invariants, as the property-based tests check them."""
import numpy as np

from recogym.logs import EventKind


def assert_logs_valid(logs, num_products, first_user=0, num_users=None):
    """Rows in their domains, ids in range, times non-decreasing per user,
    clicks only on impressions."""
    organic, impressions = logs.z == EventKind.ORGANIC, logs.z == EventKind.BANDIT
    assert (organic | impressions).all()
    assert ((logs.v[organic] >= 0) & (logs.v[organic] < num_products)).all()
    assert (logs.v[impressions] == -1).all()
    assert ((logs.a[impressions] >= 0) & (logs.a[impressions] < num_products)).all()
    assert (logs.a[organic] == -1).all() and (logs.c[organic] == -1).all()
    assert np.isin(logs.c[impressions], [0, 1]).all()
    assert ((logs.ps[impressions] > 0) & (logs.ps[impressions] <= 1)).all()
    probabilities = logs.click_probability[impressions]
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert np.isfinite(logs.t).all()
    if num_users is not None and len(logs):
        assert logs.u.min() >= first_user and logs.u.max() < first_user + num_users
    order = np.lexsort((np.arange(len(logs)), logs.u))
    users, times = logs.u[order], logs.t[order]
    same_user = users[1:] == users[:-1]
    assert (times[1:][same_user] >= times[:-1][same_user]).all()
