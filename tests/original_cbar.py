"""An independent transcription of the -C-bar corruptions of facebookresearch/augmentation-corruption
(imagenet_c_bar/corrupt.py, utils/image.py, utils/perlin_noise.py; commit ba4d5a5e), for the tests.

In the reference's style: one pixel at a time on NumPy scalars, Python loops and lists. Each
corruption has

* ``sample_<name>(rs, side, parameter)``: the reference's ``sample_parameters`` with ``np.random``
  replaced by the legacy ``RandomState`` ``rs``, followed by the draws the reference's ``transform``
  made from ``RandomState(seed)``; it returns those numbers (not the seed), so that
* ``<name>(image, parameter, **draws)``, the reference's ``transform``, can be fed any draws.

The reference ran on NumPy 1.19/1.22, whose value-based casting keeps a float32 array times a
float64 scalar in float32; ``_times`` and ``_plus`` write that rule out where it matters (NumPy 2
would compute those in float64). ``side`` plays the reference's ``im_size``.
"""

from __future__ import annotations

import numpy as np
from scipy.fftpack import ifft2
from scipy.ndimage import gaussian_filter, rotate, zoom
from skimage.draw import line_aa


def float_parameter(level, maxval):
    return float(level) * maxval / 10.


def _times(array, scalar):
    """array * float64 scalar under NumPy 1 casting."""
    if array.dtype == np.float32:
        return array * np.float32(scalar)
    return array * scalar


def _plus(array, scalar):
    """array + float64 scalar under NumPy 1 casting."""
    if array.dtype == np.float32:
        return array + np.float32(scalar)
    return array + scalar


def bilinear_interpolation(image, point):
    l = int(np.floor(point[0]))
    u = int(np.floor(point[1]))
    r, d = l + 1, u + 1
    h, w = image.shape[0], image.shape[1]

    def at(a, b):
        if 0 <= a < h and 0 <= b < w:
            return image[a, b, :]
        return np.array([0, 0, 0])

    al = _times(at(l, u), 1.0 - point[1] + u) + _times(at(l, d), 1.0 - d + point[1])
    ar = _times(at(r, u), 1.0 - point[1] + u) + _times(at(r, d), 1.0 - d + point[1])
    return _times(al, 1.0 - point[0] + l) + _times(ar, 1.0 - r + point[0])


# ----------------------------------------------------------------- blue noise sample, brownish noise

def _phases(random_state, side):
    half = random_state.uniform(low=0, high=2 * np.pi, size=(side, side // 2))
    centre = random_state.uniform(low=0, high=2 * np.pi, size=(side // 2, 1)) if side % 2 else None
    return half, centre


def _spectrum_noise(power, half, centre):
    side = power.shape[0]
    if side % 2 == 0:
        phases = np.concatenate((half, half[::-1, ::-1]), axis=1)
    else:
        column = np.concatenate((centre, np.array([[0.0]]), centre[::-1, :]), axis=0)
        phases = np.concatenate((half, column, half[::-1, ::-1]), axis=1)
    fourier = power * (np.cos(phases) + np.sin(phases) * 1j)
    fourier = np.roll(fourier, side // 2, axis=0)
    fourier = np.roll(fourier, side // 2, axis=1)
    noise = np.real(ifft2(fourier))
    return noise / np.std(noise)


def sample_blue_noise_sample(rs, side, parameter):
    seed = rs.randint(low=0, high=2**32)
    half, centre = _phases(np.random.RandomState(seed=seed), side)
    return {"phases": half, "centre_phases": centre}


def blue_noise_sample(image, parameter, phases, centre_phases):
    side = image.shape[0]
    threshold = float_parameter(parameter, 3.0) - 2.5
    c = side / 2
    power = np.array([[np.linalg.norm(np.array([x, y]) - c) for x in range(side)] for y in range(side)])
    noise = _spectrum_noise(power, phases, centre_phases)
    out = image * (noise > threshold).reshape(side, side, 1)
    return np.clip(out, 0, 255).astype(np.uint8)


def sample_brownish_noise(rs, side, parameter):
    seed = rs.randint(low=0, high=2**32)
    inner = np.random.RandomState(seed=seed)
    draws = [_phases(inner, side) for _ in range(3)]
    centres = None if side % 2 == 0 else np.stack([d[1] for d in draws])
    return {"phases": np.stack([d[0] for d in draws]), "centre_phases": centres}


def brownish_noise(image, parameter, phases, centre_phases):
    side = image.shape[0]
    intensity = float_parameter(parameter, 64)
    c = side / 2
    power = np.array([[1 / (np.linalg.norm(np.array([x, y]) - c) ** 2 + 1) for x in range(side)] for y in range(side)])
    channels = []
    for k in range(3):
        channels.append(_spectrum_noise(power, phases[k], None if centre_phases is None else centre_phases[k]))
    return np.clip(image + intensity * np.stack(channels, axis=2), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------- Perlin noise

def sample_perlin_noise(rs, side, parameter):
    seed = rs.randint(low=0, high=2**32)
    inner = np.random.RandomState(seed=seed)
    gradients = np.array([inner.randint(low=0, high=2**31, size=2) % 512 for _ in range(514)])
    swaps = np.array([inner.randint(low=0, high=2**31) % 256 for _ in range(256)])
    return {"gradients": gradients, "swaps": swaps}


class _Perlin:
    def __init__(self, gradients, swaps):
        self.g = np.array([(v - 256) / 256 / np.linalg.norm((v - 256) / 256) for v in np.asarray(gradients)])
        self.p = np.arange(514)
        for step, i in enumerate(range(255, -1, -1)):
            j = swaps[step]
            k = self.p[i]
            self.p[i] = self.p[j]
            self.p[j] = k
        for i in range(258):
            self.p[256 + i] = self.p[i]
            self.g[256 + i, :] = self.g[i, :]

    def noise(self, x, y):
        t = x + 4096
        bx0 = int(t) % 256
        bx1 = (bx0 + 1) % 256
        rx0 = t % 1
        rx1 = rx0 - 1.0
        t = y + 4096
        by0 = int(t) % 256
        by1 = (by0 + 1) % 256
        ry0 = t % 1
        ry1 = ry0 - 1.0
        i, j = self.p[bx0], self.p[bx1]
        b00, b10, b01, b11 = self.p[i + by0], self.p[j + by0], self.p[i + by1], self.p[j + by1]
        sx = rx0 ** 2 * (3.0 - 2.0 * rx0)
        sy = ry0 ** 2 * (3.0 - 2.0 * ry0)
        u = rx0 * self.g[b00, 0] + ry0 * self.g[b00, 1]
        v = rx1 * self.g[b10, 0] + ry0 * self.g[b10, 1]
        a = u + sx * (v - u)
        u = rx0 * self.g[b01, 0] + ry1 * self.g[b01, 1]
        v = rx1 * self.g[b11, 0] + ry1 * self.g[b11, 1]
        b = u + sx * (v - u)
        return 1.5 * (a + sy * (b - a))

    def turbulence(self, x, y, octaves):
        t = 0.0
        f = 1.0
        while f <= octaves:
            t += np.abs(self.noise(f * x, f * y)) / f
            f = f * 2
        return t


def perlin_noise(image, parameter, gradients, swaps):
    side = image.shape[0]
    m = np.array([[1, 0], [0, 1]]) / (32 * side / 224)
    alpha = float_parameter(parameter, 0.50)
    generator = _Perlin(gradients, swaps)

    def kernel(point):
        npoint = np.matmul(point, m)
        f = 0.5 * generator.turbulence(npoint[0], npoint[1], 16.0) + 0.5
        return np.clip(np.array([f, f, f]), 0, 1.0)

    noise = np.array([[kernel(np.array([y, x])) for x in range(side)] for y in range(side)])
    out = (1 - alpha) * image.astype(np.float32) + 255 * alpha * noise
    return np.clip(out, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------- plasma noise

def sample_plasma_noise(rs, side, parameter):
    time = rs.uniform(low=0.0, high=6 * np.pi)
    iterations = rs.randint(low=4, high=7)
    sharpness = rs.uniform(low=0.5, high=1.0)
    scale = rs.uniform(low=0.075, high=0.2) * side
    return {"time": time, "iterations": iterations, "sharpness": sharpness, "scale": scale}


def plasma_noise(image, parameter, time, iterations, sharpness, scale):
    side = image.shape[0]
    intensity = float_parameter(parameter, 64)

    def kernel(x, y):
        x /= scale
        y /= scale
        i = np.array([1.0, 1.0, 1.0, 0.0])
        for _ in range(iterations):
            r = np.array([np.cos(y * i[0] - i[3] + time / i[1]), np.sin(x * i[0] - i[3] + time / i[1])]) / i[2]
            r += np.array([-r[1], r[0]]) * 0.3
            x += r[0]
            y += r[1]
            i *= np.array([1.93, 1.15, (2.25 - sharpness), time * i[1]])
        return [np.sin(x - time), np.sin((x + y + np.sin(time)) * 0.5), np.sin(y + time)]

    noise = np.array([[kernel(x, y) for x in range(side)] for y in range(side)])
    return np.clip((1 - intensity / 255) * image + intensity * noise, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- concentric sine waves

def sample_cocentric_sine_waves(rs, side, parameter):
    offset = rs.uniform(low=0, high=side, size=2)
    freq = rs.uniform(low=0, high=10)
    amplitude = rs.uniform(low=0, high=side / 10)
    ring_width = rs.uniform(low=0, high=side / 10)
    return {"offset": offset, "freq": freq, "amplitude": amplitude, "ring_width": ring_width}


def cocentric_sine_waves(image, parameter, offset, freq, amplitude, ring_width):
    side = image.shape[0]
    intensity = [float_parameter(parameter, 128) for _ in range(3)]

    def value(x, y):
        angle = np.arctan2(x - offset[0], y - offset[1]) * freq
        distance = ((np.sqrt((x - offset[0]) ** 2 + (y - offset[1]) ** 2) + np.sin(angle) * amplitude) % ring_width) / ring_width
        return distance - 1 / 2

    noise = np.array([[value(x, y) for x in range(side)] for y in range(side)])
    noise = np.stack((intensity[0] * noise, intensity[1] * noise, intensity[2] * noise), axis=2)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------ single frequency greyscale

def sample_single_frequency_greyscale(rs, side, parameter):
    magnitude = rs.uniform(low=-np.pi, high=np.pi)
    second = rs.uniform(low=-abs(magnitude), high=abs(magnitude))
    freq = np.array([magnitude, second])[rs.permutation(2)]
    phase = rs.uniform(low=0, high=2 * np.pi)
    return {"freq": freq, "phase": phase}


def single_frequency_greyscale(image, parameter, freq, phase):
    side = image.shape[0]
    intensity = float_parameter(parameter, 196)
    noise = np.array([[np.sin(x * freq[0] + y * freq[1] + phase) for x in range(side)] for y in range(side)])
    noise = np.stack((noise, noise, noise), axis=2)
    return np.clip(image + intensity * noise, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ checkerboard cutout

def sample_checkerboard_cutout(rs, side, parameter):
    angle = rs.uniform(low=0, high=2 * np.pi)
    scale = np.maximum(rs.uniform(low=0.1, high=0.25) * side, 1)
    seed = rs.randint(low=0, high=2**32)
    inner = np.random.RandomState(seed=seed)
    grid = inner.uniform(size=(int(4 * side // scale), int(4 * side // scale)))
    return {"angle": angle, "scale": scale, "grid": grid}


def checkerboard_cutout(image, parameter, angle, scale, grid):
    side = image.shape[0]
    holes = grid < float_parameter(parameter, 1.0)
    out = np.zeros((side, side, 3), dtype=np.int64)
    for y in range(side):
        for x in range(side):
            nx = (np.cos(angle) * y + np.sin(angle) * x) / scale
            ny = (-np.sin(angle) * y + np.cos(angle) * x) / scale
            keep = (int(nx % 2) != int(ny % 2)) or not holes[int(nx), int(ny)]
            out[y, x] = image[y, x, :] if keep else np.array([128, 128, 128])
    return np.clip(out, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------ lines

def sample_lines(rs, side, parameter):
    angle = rs.uniform(low=0.0, high=2 * np.pi)
    variation = rs.uniform(low=0.1, high=1.0)
    seed = rs.randint(low=0, high=2**32)
    inner = np.random.RandomState(seed=seed)
    count = int(float_parameter(parameter, 1.0) * side)
    positions = np.array([[inner.uniform(), inner.uniform(), inner.uniform()] for _ in range(count)]).reshape(count, 3)
    return {"angle": angle, "angle_variation": variation, "positions": positions}


def lines(image, parameter, angle, angle_variation, positions):
    side = image.shape[0]
    length = 1.0 * side
    out = image.copy()
    for ux, uy, ua in positions:
        x = side * ux
        y = side * uy
        a = angle + 2 * np.pi * angle_variation * (ua - 0.5)
        s = np.sin(a) * length
        c = np.cos(a) * length
        rows, cols, vals = line_aa(int(x - c), int(y - s), int(x + c), int(y + s))
        updates = []
        for rx, ry, rv in zip(rows, cols, vals):
            if 0 <= rx < side and 0 <= ry < side:
                updates.append((rx, ry, (1.0 - rv) * out[rx, ry, :].astype(np.float32) + rv * 128))
        for rx, ry, value in updates:  # all read before any is written, as the reference's fancy indexing
            out[rx, ry, :] = value
    return out.astype(np.uint8)


# ------------------------------------------------------------------------ sparkles, inverse sparkles

def _sparkle_factor(point, center, radius, ray_lengths, amount):
    rays = len(ray_lengths)
    dp = point - center
    dist = np.linalg.norm(dp)
    angle = np.arctan2(dp[1], dp[0])
    d = (angle + np.pi) / (2 * np.pi) * rays
    i = int(d)
    f = d - i
    if radius != 0:
        length = ray_lengths[i % rays] + f * (ray_lengths[(i + 1) % rays] - ray_lengths[i % rays])
        g = length ** 2 / (dist ** 2 + 1e-4)
        g = g ** ((100 - amount) / 50.0)
        f -= 0.5
        f = 1 - f ** 2
        f *= g
    return np.clip(f, 0, 1)


def sample_sparkles(rs, side, parameter):
    centers = rs.uniform(low=0, high=side, size=(5, 2))
    seed = rs.randint(low=0, high=2**32)
    nrays = rs.randint(low=50, high=200, size=5)
    inner = np.random.RandomState(seed=seed)
    return {"centres": centers, "ray_noise": [np.array([inner.randn() for _ in range(n)]) for n in nrays]}


def sparkles(image, parameter, centres, ray_noise):
    side = image.shape[0]
    radius = float_parameter(parameter, 0.1) * side
    color = np.array([255, 255, 255])
    for center, noise in zip(centres, ray_noise):
        ray_lengths = [max(1, radius + 25 / 100.0 * radius * n) for n in noise]
        image = np.array([[
            image[y, x, :].astype(np.float32)
            + _sparkle_factor(np.array([y, x]), center, radius, ray_lengths, 50)
            * (color - image[y, x, :].astype(np.float32))
            for x in range(side)] for y in range(side)])
    return np.clip(image, 0, 255).astype(np.uint8)


def sample_inverse_sparkles(rs, side, parameter):
    center = rs.uniform(low=0.25, high=0.75, size=2) * side
    seed = rs.randint(low=0, high=2**32)
    rays = rs.randint(low=50, high=200)
    inner = np.random.RandomState(seed=seed)
    return {"centre": center, "ray_noise": np.array([inner.randn() for _ in range(rays)])}


def inverse_sparkles(image, parameter, centre, ray_noise):
    side = image.shape[0]
    radius = 0.25 * side
    amount = 100 - float_parameter(parameter, 65)
    color = np.array([255, 255, 255])
    ray_lengths = [radius + 25 / 100.0 * radius * n for n in ray_noise]
    out = np.array([[
        color + _sparkle_factor(np.array([y, x]), centre, radius, ray_lengths, amount)
        * (image[y, x, :].astype(np.float32) - color)
        for x in range(side)] for y in range(side)])
    return np.clip(out, 0, 255).astype(np.uint8)


# -------------------------------------------------------------------------------- pinch and twirl

def sample_pinch_and_twirl(rs, side, parameter):
    num = 5 if side == 224 else 3
    return {"signs": np.array([rs.choice([1, -1]) for _ in range(num ** 2)])}


def pinch_and_twirl(image, parameter, signs):
    side = image.shape[0]
    num = 5 if side == 224 else 3
    angles = np.array([s * float_parameter(parameter, np.pi / 2) for s in signs]).reshape(num, num)
    amount = float_parameter(parameter, 0.4) + 0.1

    def warp(point, center, radius, angle):
        dx = point[0] - center[0]
        dy = point[1] - center[1]
        dist = np.linalg.norm(point - center)
        if dist > radius or np.round(dist, 3) == 0.0:
            return point
        d = dist / radius
        t = np.sin(np.pi * 0.5 * d) ** (-amount)
        dx *= t
        dy *= t
        a = angle * ((1 - d) ** 2)
        return center + np.array([dx * np.cos(a) - dy * np.sin(a), dx * np.sin(a) + dy * np.cos(a)])

    out = image.copy().astype(np.float32)
    grid = side // num
    radius = grid / 2
    for i in range(num):
        for j in range(num):
            l, r = i * grid, (i + 1) * grid
            u, d = j * grid, (j + 1) * grid
            center = np.array([u + radius, l + radius])
            out[u:d, l:r, :] = np.array([[
                bilinear_interpolation(out, warp(np.array([y, x]), center, radius, angles[i, j]))
                for x in np.arange(l, r)] for y in np.arange(u, d)])
    return np.clip(out, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------ ripple

def sample_ripple(rs, side, parameter):
    wavelengths = rs.uniform(low=0.1, high=0.3, size=2) * side
    phases = rs.uniform(low=0, high=2 * np.pi, size=2)
    return {"wavelengths": wavelengths, "phases": phases}


def ripple(image, parameter, wavelengths, phases):
    side = image.shape[0]
    amplitudes = np.array([float_parameter(parameter, 0.025) for _ in range(2)]) * side
    out = np.array([[
        bilinear_interpolation(image, np.array([y, x]) + amplitudes * np.sin(2 * np.pi * np.array([y, x]) / wavelengths + phases))
        for x in range(side)] for y in range(side)])
    return np.clip(out, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ caustic refraction

def sample_caustic_refraction(rs, side, parameter):
    time = rs.uniform(low=0.5, high=2.0)
    size = rs.uniform(low=0.75, high=1.25) * side
    return {"time": time, "size": size}


def caustic_refraction(image, parameter, time, size):
    side = image.shape[0]
    eta = 4.0
    lens_scale = float_parameter(parameter, 0.5 * side)
    lighting_amount = float_parameter(parameter, 2.0)

    def caustic(point):
        point = point / size
        p = (point % 1) * 6.28318530718 - 250
        i = p.copy()
        c = 1.0
        inten = 0.005
        for n in range(5):
            t = time * (1.0 - (3.5 / (n + 1)))
            i = p + np.array([np.cos(t - i[0]) + np.sin(t + i[1]), np.sin(t - i[1]) + np.cos(t + i[0])])
            length = np.sqrt((p[0] / (np.sin(i[0] + t) / inten)) ** 2 + (p[1] / (np.cos(i[1] + t) / inten)) ** 2)
            c += 1.0 / length
        c /= 5.0
        c = 1.17 - c ** 1.4
        color = np.clip(np.abs(c) ** 8.0, 0, 1)
        return np.array([color, color, color])

    def refract(incident, normal):
        if np.abs(np.dot(incident, normal)) >= 1.0 - 1e-3:
            return incident
        angle = np.arccos(np.dot(incident, normal))
        out_angle = np.arcsin(np.sin(angle) / eta)
        out_unrotated = np.array([np.cos(out_angle), np.sin(out_angle), 0.0])
        spectator = np.cross(incident, normal)
        spectator /= np.linalg.norm(spectator)
        orthogonal = np.cross(normal, spectator)
        rotation = np.stack((normal, orthogonal, spectator), axis=0)
        return np.matmul(np.linalg.inv(rotation), out_unrotated)

    def luma(caustics, y, x):
        if 0 <= y < side and 0 <= x < side:
            return np.dot(caustics[y, x, :], np.array([0.2126, 0.7152, 0.0722]))
        return np.dot(np.array([0.0, 0.0, 0]), np.array([0.2126, 0.7152, 0.0722]))

    noise = np.array([[caustic(np.array([y, x])) for x in range(side)] for y in range(side)])
    noise = gaussian_filter(noise, sigma=1)
    unit = image.astype(np.float32) / 255
    out = []
    for y in range(side):
        row = []
        for x in range(side):
            north, south = luma(noise, y, x - 1), luma(noise, y, x + 1)
            west, east = luma(noise, y - 1, x), luma(noise, y + 1, x)
            normal = np.array([east - west, south - north, 1.0])
            normal = normal / np.linalg.norm(normal)
            vector = np.round(refract(np.array([0.0, 0.0, 1.0]), normal) * lens_scale, 3)
            pixel = bilinear_interpolation(unit, np.array([y, x]) + vector[0:2])
            pixel = _plus(pixel, (north - south) * lighting_amount)
            pixel = _plus(pixel, (east - west) * lighting_amount)
            row.append(np.clip(pixel, 0, 1))
        out.append(row)
    out = np.array(out)
    return np.clip((out * 255).astype(np.uint8), 0, 255)


# --------------------------------------------------------------------------- circular motion blur

def sample_circular_motion_blur(rs, side, parameter):
    return {}


def circular_motion_blur(image, parameter):
    amount = float_parameter(parameter, 15)
    num = 21
    factors = []
    rotated = []
    image = image.astype(np.float32) / 255
    for i in range(num):
        angle = (2 * i / (num - 1) - 1) * amount
        rotated.append(rotate(image, angle, reshape=False))
        factors.append(np.exp(- 2 * (2 * i / (num - 1) - 1) ** 2))
    out = np.zeros_like(image)
    for r, f in zip(rotated, factors):
        out += _times(r, f)
    out /= np.float32(sum(factors))  # NumPy 1: out /= float64 scalar stays float32
    return np.clip(out * 255, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------- transverse chromatic aberration

def sample_transverse_chromatic_abberation(rs, side, parameter):
    return {"order": rs.permutation(3)}


def transverse_chromatic_abberation(image, parameter, order):
    side = image.shape[0]
    scale = float_parameter(parameter, 0.5)
    scales = np.array([1.0, 1.0 + scale / 2, 1.0 + scale])[order]
    out = image.copy()
    for c in range(3):
        zoomed = zoom(image[:, :, c], scales[c], prefilter=False)
        edge = (zoomed.shape[0] - side) // 2
        out[:, :, c] = zoomed[edge:edge + side, edge:edge + side]
    return out.astype(np.uint8)


#: The reference's 15 -C-bar corruptions by name.
TRANSFORMS = {
    name: (globals()[f"sample_{name}"], globals()[name])
    for name in (
        "blue_noise_sample", "brownish_noise", "perlin_noise", "plasma_noise", "cocentric_sine_waves",
        "single_frequency_greyscale", "checkerboard_cutout", "lines", "sparkles", "inverse_sparkles",
        "pinch_and_twirl", "ripple", "caustic_refraction", "circular_motion_blur", "transverse_chromatic_abberation",
    )
}
