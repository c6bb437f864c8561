"""The two-layer network (an MFLD functional) and the decoder (a PGD / MPD latent model)
as built-ins: values and gradients against NumPy formulas, MFLD with the network lowers
the loss and runs under every scheme including the Metropolis-adjusted one (it has a
frozen first variation), 1 ≡ 2 threads, PGD on the decoder lowers the energy, bad input."""
import numpy as np
import pytest

import meanfield as mf


def net_data(rng, m=40, p=2):
    z = rng.normal(size=(m, p))
    y = np.tanh(z @ np.array([1.0, -0.5])[:p])
    return z, y


def test_two_layer_value_and_gradients_match_numpy(rng):
    z, y = net_data(rng)
    rho = 0.1
    f = mf.Functional.two_layer(z, y, l2=rho)
    assert f.d == 3
    x = rng.normal(size=(25, 3))
    a, w = x[:, 0], x[:, 1:]
    h = np.tanh(z @ w.T)  # (M, N)
    pred = h @ a / len(a)
    r = pred - y
    value = 0.5 * np.mean(r ** 2) + 0.5 * rho * np.mean(np.sum(x ** 2, axis=1))
    assert f.value(x) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(f.predict(x, z), pred, rtol=1e-12, atol=1e-14)
    fv = (r @ h) * a / len(y) + 0.5 * rho * np.sum(x ** 2, axis=1)
    np.testing.assert_allclose(f.first_variation(x), fv, rtol=1e-11, atol=1e-14)
    ga = (r @ h) / len(y) + rho * a
    gw = ((r[:, None] * (1 - h ** 2)).T @ z) * a[:, None] / len(y) + rho * w
    np.testing.assert_allclose(f.grad(x), np.column_stack([ga, gw]), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("scheme", ["euler", "adjusted"])
def test_mfld_on_the_two_layer_net_lowers_the_loss(rng, scheme):
    z, y = net_data(rng)
    f = mf.Functional.two_layer(z, y, l2=0.01)
    x0 = 0.5 * rng.normal(size=(100, 3))
    runs = []
    for threads in (1, 2):
        dyn = mf.MFLD(f, lam=1e-4, eta=0.05, scheme=scheme, threads=threads)
        run = dyn.start(x0, seed=3)
        summary = dyn.run(run, 100)
        runs.append((run, summary))
    (a, sa), (b, _) = runs
    np.testing.assert_array_equal(a.x, b.x)
    assert f.value(a.x) < 0.5 * f.value(x0)
    if scheme == "adjusted":
        assert sa["mean_acceptance"] > 0.5


def test_two_layer_bad_input(rng):
    z, y = net_data(rng)
    with pytest.raises(ValueError, match="targets"):
        mf.Functional.two_layer(z, y[:-1])
    with pytest.raises(mf.InvalidParameterError):
        mf.Functional.two_layer(z, y, l2=-1.0)
    with pytest.raises(ValueError, match="predict"):
        mf.Functional.quadratic(1.0, np.zeros(2)).predict(np.zeros((2, 2)), np.zeros((1, 1)))


def decoder_energy(data, latent, hidden, theta, x, sigma=None):
    m, dd = data.shape
    o = 0
    w1 = theta[o:o + hidden * latent].reshape(hidden, latent); o += hidden * latent
    b1 = theta[o:o + hidden]; o += hidden
    w2 = theta[o:o + dd * hidden].reshape(dd, hidden); o += dd * hidden
    b2 = theta[o:o + dd]
    zc = x.reshape(m, latent)
    a = np.tanh(zc @ w1.T + b1) @ w2.T + b2
    if sigma is None:
        nll = np.sum(np.logaddexp(0, a) - data * a)
    else:
        nll = np.sum((data - a) ** 2) / (2 * sigma ** 2)
    return 0.5 * np.sum(zc ** 2) + nll


@pytest.mark.parametrize("sigma", [None, 0.5])
def test_decoder_energy_matches_numpy_and_pgd_lowers_it(rng, sigma):
    m, dd, latent, hidden = 6, 5, 2, 3
    data = (rng.uniform(size=(m, dd)) > 0.5).astype(float)
    kw = {} if sigma is None else {"likelihood": "gaussian", "sigma": sigma}
    model = mf.LatentModel.decoder(data, latent, hidden, **kw)
    assert model.p == hidden * latent + hidden + dd * hidden + dd and model.d == m * latent
    theta = 0.3 * rng.normal(size=model.p)
    x = rng.normal(size=(4, model.d))
    e = model.energy(theta, x)
    want = [decoder_energy(data, latent, hidden, theta, row, sigma) for row in x]
    np.testing.assert_allclose(e, want, rtol=1e-12)
    pgd = mf.PGD(model, h_theta=0.01, h_x=0.01)
    run = pgd.start(x, seed=2, theta0=theta)
    pgd.run(run, 200)
    # θ descends the particle-averaged energy: lower at the final particles than θ₀'s
    assert np.mean(model.energy(run.theta, run.x)) < np.mean(model.energy(theta, run.x))
    mpd = mf.MPD(model, h_theta=0.01, h_x=0.01)
    r2 = mpd.start(x, seed=2, theta0=theta)
    mpd.run(r2, 50)
    assert np.isfinite(r2.theta).all()


def test_decoder_bad_input(rng):
    data = rng.uniform(size=(3, 4))
    with pytest.raises(ValueError, match="likelihood"):
        mf.LatentModel.decoder(data, 2, 3, likelihood="poisson")
    with pytest.raises(ValueError, match="sigma"):
        mf.LatentModel.decoder(data, 2, 3, likelihood="gaussian")
    with pytest.raises(mf.InvalidParameterError):
        mf.LatentModel.decoder(data * 3, 2, 3)
    with pytest.raises(mf.MeanfieldError):
        mf.LatentModel.decoder(data, 0, 3)
