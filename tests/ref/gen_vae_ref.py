#!/usr/bin/python3
"""Reference vectors for lib/vae and lib/nn, from an independent implementation
(PyTorch, float64).  Run once; the output, tests/ref/vae_ref.h, is committed and
compiled into the self-test (vae_test in lib/vae.c).

    /usr/bin/python3 tests/ref/gen_vae_ref.py > tests/ref/vae_ref.h

Needs Debian's python3-torch (apt-get install -y python3-numpy python3-torch);
nothing at run time depends on it.

Per case: a tiny VAE (encoder D -> hidden... with the activation, mu and
logvar heads, decoder mirrored with a linear output), float32-representable
parameters, inputs x and noise eps, then in float64:
  forward  mu, logvar, z = mu + exp(logvar/2) eps, xhat
  loss     mean over the batch of sum (x - xhat)^2 + beta * KL; with a
           Gaussian decoder (xhat holds a mean and a log-variance per value,
           the log-variance clamped to [-6, 6]) the sum is of
           1/2 ((x - mean)^2 / exp(logvar) + logvar) instead
  grads    of that loss, in the C slab layout (each Linear: W (out,in), b)
  adam     parameters after `steps` steps of AdamW (torch.optim.AdamW) with
           clip_grad_norm_, each on the same x and eps
"""
import sys
import numpy as np
import torch

VERSION = 2
LV_MIN, LV_MAX = -6.0, 6.0


class VAE(torch.nn.Module):
    def __init__(self, D, hidden, L, act, gauss=False):
        super().__init__()
        self.D, self.gauss = D, gauss
        A = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[act]
        enc, w = [], D
        for h in hidden:
            enc += [torch.nn.Linear(w, h), A()]
            w = h
        self.enc = torch.nn.Sequential(*enc)
        self.mu = torch.nn.Linear(w, L)
        self.lv = torch.nn.Linear(w, L)
        dec, w = [], L
        for h in reversed(hidden):
            dec += [torch.nn.Linear(w, h), A()]
            w = h
        dec += [torch.nn.Linear(w, 2 * D if gauss else D)]
        self.dec = torch.nn.Sequential(*dec)

    def linears(self):
        enc = [m for m in self.enc if isinstance(m, torch.nn.Linear)]
        dec = [m for m in self.dec if isinstance(m, torch.nn.Linear)]
        return enc + [self.mu, self.lv] + dec

    def slab(self, grad=False):
        out = []
        for m in self.linears():
            for t in (m.weight, m.bias):
                t = t.grad if grad else t
                out.append(t.detach().reshape(-1))
        return torch.cat(out).numpy()

    def forward(self, x, eps):
        h = self.enc(x)
        mu, lv = self.mu(h), self.lv(h)
        z = mu + torch.exp(0.5 * lv) * eps
        return mu, lv, z, self.dec(z)


def loss_of(x, mu, lv, xhat, beta):
    n, D = x.shape
    if xhat.shape[1] == 2 * D:
        m, dlv = xhat[:, :D], xhat[:, D:].clamp(LV_MIN, LV_MAX)
        recon = (0.5 * ((x - m) ** 2 * torch.exp(-dlv) + dlv)).sum() / n
    else:
        recon = ((x - xhat) ** 2).sum() / n
    kl = (-0.5 * (1 + lv - mu ** 2 - torch.exp(lv))).sum() / n
    return recon + beta * kl, recon, kl


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def arr(name, a):
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    body = ",\n    ".join(", ".join(repr(float(v)) for v in a[i:i + 4])
                          for i in range(0, len(a), 4))
    return "static const double %s[%d] = {\n    %s};\n" % (name, len(a), body)


def case(tag, D, hidden, L, n, act, beta, lr, wd, clip, steps, seed, gauss=False, scale=1.5):
    torch.manual_seed(seed)
    net = VAE(D, hidden, L, act, gauss).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(f32(p.numpy() * scale)))
        if gauss:   # some decoder log-variances beyond the clamp, some inside
            last = net.dec[-1].bias
            last[D:] = torch.from_numpy(f32(np.resize([7.5, -7.5, 0.0, 2.0], D)))
    g = np.random.default_rng(seed)
    x = torch.from_numpy(f32(g.normal(size=(n, D))))
    eps = torch.from_numpy(f32(g.normal(size=(n, L))))
    p0 = net.slab()
    mu, lv, z, xhat = net(x, eps)
    loss, recon, kl = loss_of(x, mu, lv, xhat, beta)
    net.zero_grad()
    loss.backward()
    grads = net.slab(grad=True)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=wd)
    norms = []
    for _ in range(steps):
        opt.zero_grad()
        m2, l2, z2, xh2 = net(x, eps)
        loss_of(x, m2, l2, xh2, beta)[0].backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(net.parameters(), clip)))
        opt.step()
    p1 = net.slab()
    out = []
    for name, a in (("x", x), ("eps", eps), ("p0", p0), ("mu", mu.detach()),
                    ("logvar", lv.detach()), ("z", z.detach()), ("xhat", xhat.detach()),
                    ("grads", grads), ("p1", p1)):
        out.append(arr("vae_ref_%s_%s" % (tag, name), a.numpy() if torch.is_tensor(a) else a))
    hid = ", ".join(str(h) for h in hidden)
    if gauss:
        dl = xhat.detach()[:, D:]
        sys.stderr.write("%s: %d of %d decoder log-variances outside [%g, %g]\n"
                         % (tag, int(((dl < LV_MIN) | (dl > LV_MAX)).sum()), dl.numel(),
                            LV_MIN, LV_MAX))
    entry = ("    {\"%s\", %d, %d, {%s}, %d, \"%s\", %d, %d, %r, %r, %r, %r, %d,\n"
             "     %r, %r, %r,\n"
             "     vae_ref_%s_x, vae_ref_%s_eps, vae_ref_%s_p0, vae_ref_%s_mu, vae_ref_%s_logvar,\n"
             "     vae_ref_%s_z, vae_ref_%s_xhat, vae_ref_%s_grads, vae_ref_%s_p1, %d},\n"
             % ((tag, D, len(hidden), hid, L, act, int(gauss), n, beta, lr, wd, clip, steps,
                 float(loss), float(recon), float(kl)) + (tag,) * 9 + (len(p0),)))
    sys.stderr.write("%s: loss %.6f, grad norms %s\n" % (tag, float(loss), norms))
    return "".join(out), entry


def main():
    print("/*  Reference vectors for the VAE self-test, generated by")
    print("    tests/ref/gen_vae_ref.py with PyTorch %s (float64).  Do not edit:" % torch.__version__)
    print("    rerun the script.  */")
    print("#define VAE_REF_MAGIC \"vigil-vae-ref\"")
    print("#define VAE_REF_VERSION %d" % VERSION)
    print("""typedef struct {
    const char *tag;
    size_t D, nhidden, hidden[4], L;
    const char *act;
    int gauss;
    size_t n;
    double beta, lr, weight_decay, clip;
    size_t steps;
    double loss, recon, kl;
    const double *x, *eps, *p0, *mu, *logvar, *z, *xhat, *grads, *p1;
    size_t nparams;
} vae_ref_t;
""")
    cases = [case("tanh", 8, [6, 5], 3, 4, "tanh", 0.5, 0.01, 0.01, 0.5, 3, 1),
             case("relu", 10, [7], 2, 5, "relu", 1.0, 0.005, 0.0, 100.0, 3, 2),
             case("deep", 6, [9, 7, 4], 3, 3, "relu", 2.0, 0.02, 0.1, 1.0, 4, 3),
             case("gauss", 8, [6, 5], 3, 4, "tanh", 0.5, 0.01, 0.01, 0.5, 3, 4, True)]
    for arrays, _ in cases:
        print(arrays)
    print("static const vae_ref_t vae_ref_cases[] = {")
    for _, entry in cases:
        sys.stdout.write(entry)
    print("};")


main()
