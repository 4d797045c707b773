"""Negative sampling never returns a training positive, and is uniform over the rest."""
import pytest
import torch

from gnnkit.train.sampling import NegativeSampler


@pytest.mark.parametrize("seed", range(5))
def test_negatives_are_never_positives(seed):
    g = torch.Generator().manual_seed(seed)
    num_users, num_items = 40, 30
    # dense users (up to all but one item) make rejections frequent
    users, items = [], []
    for u in range(num_users):
        k = int(torch.randint(0, num_items, (1,), generator=g))
        users += [u] * k
        items += torch.randperm(num_items, generator=g)[:k].tolist()
    users, items = torch.tensor(users), torch.tensor(items)
    sampler = NegativeSampler(users, items, num_users, num_items)
    query = torch.randint(0, num_users, (20000,), generator=g)
    neg = sampler.sample(query, generator=g)
    positives = set(zip(users.tolist(), items.tolist()))
    assert neg.min() >= 0 and neg.max() < num_items
    assert not any((u, i) in positives for u, i in zip(query.tolist(), neg.tolist()))
    assert not bool(sampler.is_positive(query, neg).any())


def test_the_only_negative_is_found_and_others_are_uniform():
    num_items = 10
    users = torch.tensor([0] * 9)
    items = torch.arange(9)  # user 0 lacks only item 9; user 1 has nothing
    sampler = NegativeSampler(users, items, 2, num_items)
    g = torch.Generator().manual_seed(0)
    assert sampler.sample(torch.zeros(500, dtype=torch.long), generator=g).eq(9).all()
    counts = torch.bincount(sampler.sample(torch.ones(20000, dtype=torch.long), generator=g), minlength=num_items)
    assert counts.min() > 1800 and counts.max() < 2200  # 2000 expected each


def test_user_with_every_item_is_refused():
    with pytest.raises(ValueError, match="user 1 has all 3 items"):
        NegativeSampler(torch.tensor([1, 1, 1, 0]), torch.tensor([0, 1, 2, 0]), 2, 3)
