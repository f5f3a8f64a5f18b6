# Golden vectors for the distributional (NLL-trained) head: PyTorch nn.LSTM (batch_first) whose last step feeds
# three Linear heads -- location mu, scale sigma = softplus(raw) + 1e-3 and, for Student-t, df nu = 2 + softplus(raw).
# Weights, input and target are f32 values; every expected.* and grad.* tensor is computed in float64 from those
# exact f32 values.
#
#   usage: python scripts/make_golden_nll.py OUT_DIR ['JSON list of cases']
#   each case: [name, input_size, hidden_size, num_layers, batch, seq_len, horizon, seed, distribution]
import copy, json, math, sys
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import save_file

SIGMA_FLOOR = 1e-3
NU_MIN = 2.0


class DistributionalPredictor(nn.Module):
    """The reference model: LSTM -> last step -> (mu, sigma, nu); nu is None for the normal distribution."""

    def __init__(self, input_size, hidden_size, num_layers, horizon, distribution):
        super().__init__()
        assert distribution in ("normal", "student-t"), distribution
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, horizon)      # location mu
        self.scale = nn.Linear(hidden_size, horizon)   # sigma = softplus(raw) + 1e-3
        if distribution == "student-t":
            self.df = nn.Linear(hidden_size, horizon)  # nu = 2 + softplus(raw)

    def forward(self, x):  # returns mu, sigma, nu (nu None for normal), each (batch, horizon)
        out, _ = self.lstm(x)
        last = out[:, -1, :]
        mu = self.fc(last)
        sigma = F.softplus(self.scale(last)) + SIGMA_FLOOR
        nu = NU_MIN + F.softplus(self.df(last)) if hasattr(self, "df") else None
        return mu, sigma, nu


def normal_nll(y, mu, sigma):
    """Elementwise -log N(y; mu, sigma) = log sigma + z^2/2 + log(2 pi)/2."""
    z = (y - mu) / sigma
    return torch.log(sigma) + 0.5 * z * z + 0.5 * math.log(2 * math.pi)


def student_t_nll(y, mu, sigma, nu):
    """Elementwise -log t_nu(y; mu, sigma)
    = lgamma(nu/2) - lgamma((nu+1)/2) + log(nu pi)/2 + log sigma + (nu+1)/2 * log1p(z^2/nu)."""
    z = (y - mu) / sigma
    return (torch.lgamma(nu / 2) - torch.lgamma((nu + 1) / 2) + 0.5 * torch.log(nu * math.pi)
            + torch.log(sigma) + (nu + 1) / 2 * torch.log1p(z * z / nu))


def nll_loss(y, mu, sigma, nu):
    """Mean over batch x horizon of the elementwise negative log-likelihood."""
    return (normal_nll(y, mu, sigma) if nu is None else student_t_nll(y, mu, sigma, nu)).mean()


def softplus_inv(v):
    return math.log(math.expm1(v))


def init_heads(model, K, distribution):
    """Deterministic (RNG-free) override of the head biases after the seeded default init, so that sigma lies in
    about 0.5..2 and nu in about 3..20. The default init alone gives sigma ~0.6..0.9 and nu ~2.5..3 only. With the
    default LSTM init the last hidden state barely varies across the batch (std ~0.02), so the spread comes from
    the bias per horizon step: horizon 1 gets sigma ~0.6 and nu ~4 (heavy tails), horizon K > 1 gets sigma from
    0.5 to 2 and nu from 3 to 20, geometrically spaced over the steps. The weights keep their default init."""
    spread = lambda lo, hi: [lo * (hi / lo) ** (k / (K - 1)) for k in range(K)]
    with torch.no_grad():
        sig = [0.6] if K == 1 else spread(0.5, 2.0)
        model.scale.bias.copy_(torch.tensor([softplus_inv(s - SIGMA_FLOOR) for s in sig]))
        if distribution == "student-t":
            nus = [4.0] if K == 1 else spread(3.0, 20.0)
            model.df.bias.copy_(torch.tensor([softplus_inv(n - NU_MIN) for n in nus]))


def heads64(model, x):
    """The forward pass, keeping the raw head outputs (before softplus) so their gradients can be read."""
    out, _ = model.lstm(x)
    last = out[:, -1, :]
    mu = model.fc(last)
    sigma_raw = model.scale(last)
    sigma = F.softplus(sigma_raw) + SIGMA_FLOOR
    nu_raw = model.df(last) if hasattr(model, "df") else None
    nu = NU_MIN + F.softplus(nu_raw) if nu_raw is not None else None
    return mu, sigma_raw, sigma, nu_raw, nu


DEFAULT_CASES = [
    ["normal_2layer", 5, 16, 2, 6, 20, 1, 11, "normal"],
    ["student_t_2layer", 5, 16, 2, 6, 20, 1, 12, "student-t"],
    ["student_t_horizon3", 4, 8, 1, 5, 10, 3, 13, "student-t"],
]


def make_case(out_dir, c, verbose=False):
    name, I, H, L, B, T, K, seed, dist = c
    torch.manual_seed(seed)
    model = DistributionalPredictor(I, H, L, K, dist)
    x = torch.randn(B, T, I)
    # 2 * randn is exact in f32; with mu near 0 and sigma ~0.5..2, some |z| are large (the t tails matter)
    target = 2 * torch.randn(B, K)
    init_heads(model, K, dist)

    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}  # f32, state_dict names
    m64 = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    y64 = target.double()
    mu, sigma_raw, sigma, nu_raw, nu = heads64(m64, x64)
    for t in (mu, sigma_raw, nu_raw):
        if t is not None:
            t.retain_grad()

    # the helper is the model's forward, exactly
    with torch.no_grad():
        rmu, rsig, rnu = m64(x64)
    assert torch.equal(rmu, mu) and torch.equal(rsig, sigma)
    assert (rnu is None and nu is None) or torch.equal(rnu, nu)

    loss = nll_loss(y64, mu, sigma, nu)
    # cross-check the explicit formulas against torch.distributions
    with torch.no_grad():
        ref = (torch.distributions.Normal(mu, sigma) if nu is None
               else torch.distributions.StudentT(nu, mu, sigma)).log_prob(y64)
        own = normal_nll(y64, mu, sigma) if nu is None else student_t_nll(y64, mu, sigma, nu)
        assert torch.allclose(own, -ref, rtol=1e-12, atol=1e-12), (own + ref).abs().max()
        assert abs(loss.item() + ref.mean().item()) < 1e-12
    loss.backward()

    t = dict(sd)
    t["input"] = x.clone()
    t["target"] = target.clone()
    t["expected.mu"] = mu.detach().clone()
    t["expected.sigma"] = sigma.detach().clone()
    if nu is not None:
        t["expected.nu"] = nu.detach().clone()
    t["expected.loss"] = loss.detach().reshape(1).clone()
    t["grad.input"] = x64.grad.detach().clone()
    for k, p in m64.named_parameters():
        t[f"grad.{k}"] = p.grad.detach().clone()
    t["grad.mu"] = mu.grad.detach().clone()
    t["grad.sigma_raw"] = sigma_raw.grad.detach().clone()
    if nu_raw is not None:
        t["grad.nu_raw"] = nu_raw.grad.detach().clone()
    assert set(f"grad.{k}" for k in sd) <= set(t), "every parameter has a gradient"

    desc = ("DistributionalPredictor: PyTorch nn.LSTM(batch_first=True); last step -> fc (mu), "
            "scale (sigma = softplus(raw) + 0.001)"
            + (", df (nu = 2 + softplus(raw))" if nu is not None else "")
            + "; loss = mean over batch x horizon of the "
            + ("normal" if nu is None else "Student-t (location mu, scale sigma, df nu)")
            + " negative log-likelihood of target; expected.* and grad.* computed in float64 from the f32 "
              "weights, input and target; grad.sigma_raw/grad.nu_raw are wrt the head outputs before softplus; "
              "target = 2 * randn; scale.bias" + (" and df.bias" if nu is not None else "")
            + " set deterministically after the seeded default init (see tests/golden/nll/README.md)")
    meta = dict(input_size=str(I), hidden_size=str(H), num_layers=str(L), batch=str(B), seq_len=str(T),
                horizon=str(K), seed=str(seed), distribution=dist, sigma_floor="0.001", nu_min="2",
                description=desc)
    save_file({k: v.contiguous() for k, v in t.items()}, f"{out_dir}/{name}.safetensors", metadata=meta)

    z = ((y64 - mu) / sigma).detach()
    print(f"{name}: loss={loss.item():.10f} sigma=[{sigma.min().item():.3f}, {sigma.max().item():.3f}]"
          + (f" nu=[{nu.min().item():.2f}, {nu.max().item():.2f}]" if nu is not None else "")
          + f" |z|max={z.abs().max().item():.2f}")
    if verbose:
        for k, v in t.items():
            print(f"  {k:28s} {str(tuple(v.shape)):14s} {str(v.dtype):14s}"
                  + (f" |.|max={v.abs().max().item():.6e} norm={v.norm().item():.6e}" if k.startswith("grad") or k.startswith("expected") else ""))


if __name__ == "__main__":
    out_dir = sys.argv[1]
    cases = json.loads(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_CASES
    for c in cases:
        make_case(out_dir, c, verbose=(c[0] == "student_t_2layer"))
