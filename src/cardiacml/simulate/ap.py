"""Action-potential templates from the Mitchell-Schaeffer (2003) two-current model.

    dv/dt = h v^2 (1 - v) / tau_in - v / tau_out + J_stim
    dh/dt = (1 - h) / tau_open  if v < v_gate  else  -h / tau_close
    Vm = V_min + (V_max - V_min) v

The model is integrated ONCE (forward Euler, 0.02 ms) for a family of ``tau_close`` values
(tau_close sets the APD; Mitchell & Schaeffer 2003, Bull. Math. Biol. 65:767) and the
resulting single-cell action potentials are used as templates: in the simulator every
node follows the template of its APD class, shifted to its activation time. Parameters
were fitted here to the real LLNL traces (../shared/data/real_reference): rest -85.7 mV,
peak +29 mV, +24 mV 100 ms after the upstroke, APD90 ~ 2.35 tau_close (330 ms at
tau_close 140 ms). tau_out = 9 ms (instead of the original 6 ms) gives the flat, slowly
declining dome of the real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MSParams:
    """Mitchell-Schaeffer parameters (ms, dimensionless) and the voltage scale (mV)."""

    tau_in: float = 0.3
    tau_out: float = 9.0
    tau_open: float = 120.0
    v_gate: float = 0.13
    v_min: float = -85.7
    v_max: float = 33.3
    stim: float = 0.3  # 1/ms, for 1 ms


def integrate(tau_close: np.ndarray, p: MSParams = MSParams(), *, h0: float = 1.0, t_end: float = 720.0,
              dt: float = 0.02) -> np.ndarray:
    """Single-cell action potentials, one per ``tau_close``: Vm (n_steps, n) in mV, sampled every ``dt`` ms.

    The stimulus starts at t = 0; ``h0`` is the gate at the stimulus (1 = fully recovered).
    """
    tc = np.atleast_1d(np.asarray(tau_close, np.float64))
    v = np.zeros_like(tc)
    h = np.full_like(tc, h0)
    n = int(round(t_end / dt))
    out = np.empty((n, len(tc)))
    n_stim = int(round(1.0 / dt))
    for i in range(n):
        dv = h * v * v * (1.0 - v) / p.tau_in - v / p.tau_out + (p.stim if i < n_stim else 0.0)
        h = h + dt * np.where(v < p.v_gate, (1.0 - h) / p.tau_open, -h / tc)
        v = v + dt * dv
        out[i] = v
    return p.v_min + (p.v_max - p.v_min) * out


def ap_metrics(vm: np.ndarray, dt: float, rest: float | None = None) -> dict:
    """Rest, peak, Vm 100 ms after the 0 mV crossing and APD90 (ms, from the 0 mV crossing) of APs (n_steps, n).

    ``rest`` defaults to the first sample."""
    rest = vm[0] if rest is None else np.full(vm.shape[1], rest)
    peak = vm.max(0)
    up = np.argmax(vm > 0, axis=0)
    ip = vm.argmax(0)
    lvl = peak - 0.9 * (peak - rest)
    rep = np.array([ip[j] + np.argmax(vm[ip[j]:, j] < lvl[j]) if (vm[ip[j]:, j] < lvl[j]).any() else np.nan
                    for j in range(vm.shape[1])])
    v100 = vm[np.minimum(up + int(round(100 / dt)), len(vm) - 1), np.arange(vm.shape[1])]
    return {"rest": rest, "peak": peak, "v100": v100, "apd90": (rep - up) * dt}


class TemplateFamily:
    """Action potentials for APD classes on a regular APD90 grid, aligned at the 0 mV upstroke crossing.

    Attributes
    ----------
    apd : ndarray (C,), APD90 (ms) of each class (= grid ``apd_min + step * c``)
    tau_close : ndarray (C,), the Mitchell-Schaeffer tau_close that gives it
    dt : float, sampling step (ms) of ``vm``
    pre : float, ms of upstroke foot kept before the 0 mV crossing
    vm : ndarray (C, n_tau), Vm - V_rest (mV) at tau = -pre, -pre + dt, ... ms from the 0 mV crossing
    """

    def __init__(self, apd_min: float = 160.0, apd_max: float = 520.0, step: float = 8.0, p: MSParams = MSParams(),
                 dt: float = 0.05, t_end: float = 560.0):
        self.params = p
        self.apd = np.arange(apd_min, apd_max + step / 2, step)
        self.step = step
        # APD90 is close to proportional to tau_close: one calibration run, then exact classes
        probe_tc = np.linspace(apd_min / 4.0, apd_max / 1.8, 60)
        sim_dt = 0.02
        probe = integrate(probe_tc, p, dt=sim_dt, t_end=apd_max * 1.3)
        apd = ap_metrics(probe, sim_dt)["apd90"]
        ok = np.isfinite(apd)
        probe_tc, apd = probe_tc[ok], apd[ok]
        if not (np.all(np.diff(apd) > 0) and apd[0] <= apd_min and apd[-1] >= apd_max):
            raise RuntimeError(f"APD90 calibration of the Mitchell-Schaeffer model failed: {apd}")
        self.tau_close = np.interp(self.apd, apd, probe_tc)
        vm = integrate(self.tau_close, p, dt=sim_dt, t_end=t_end + 10)
        self.rest = p.v_min
        t = np.arange(len(vm)) * sim_dt
        self.dt = dt
        self.pre = pre = 3.0  # the foot of the upstroke: no jump at tau = -pre (stimulus onset precedes it)
        tau = np.arange(-pre, t_end, dt)
        out = np.empty((len(self.apd), len(tau)))
        for c in range(len(self.apd)):
            i = np.argmax(vm[:, c] > 0)
            t0 = t[i - 1] + (0 - vm[i - 1, c]) / (vm[i, c] - vm[i - 1, c]) * sim_dt  # 0 mV crossing
            out[c] = np.interp(t0 + tau, t, vm[:, c]) - self.rest
        self.vm = out
        self.metrics = ap_metrics(out.T + self.rest, dt, rest=self.rest)

    def position(self, apd: np.ndarray) -> np.ndarray:
        """Fractional class index of APD90 values (clipped to the grid)."""
        return np.clip((apd - self.apd[0]) / self.step, 0, len(self.apd) - 1.000001)

    def sample(self, tau: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Vm - V_rest (mV) at times ``tau`` (ms after activation; broadcastable with pos) for fractional classes ``pos``."""
        tau = np.asarray(tau, np.float64)
        c0 = np.floor(pos).astype(np.int64)
        fc = pos - c0
        x = np.clip((tau + self.pre) / self.dt, 0, self.vm.shape[1] - 1.000001)
        i0 = x.astype(np.int64)
        fx = x - i0
        def at(c):
            return self.vm[c, i0] * (1 - fx) + self.vm[c, i0 + 1] * fx
        out = at(c0) * (1 - fc) + at(np.minimum(c0 + 1, len(self.apd) - 1)) * fc
        return np.where(tau < -self.pre, 0.0, out)
