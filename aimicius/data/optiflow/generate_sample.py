#!/usr/bin/env python3
"""Writes aimicius/data/optiflow/sample.jsonl: hand-designed multi-GPU topologies with a ring
all-gather as reference_plan and a topology-aware faster plan as improved_plan.

The topologies are simplified models written for this project (not measured machines); their
numbers follow public spec-sheet orders of magnitude. The C++ loader re-checks every plan and that
improved_plan is faster under aimicius/optiflow/SIMULATOR.md, so this script is not trusted.
Run: python3 aimicius/data/optiflow/generate_sample.py > aimicius/data/optiflow/sample.jsonl
"""
import json


def matrices(n_nodes, links):
    """links: {(u, v): (latency_us, bandwidth_gbps)}, made symmetric."""
    lat = [[0 if u == v else None for v in range(n_nodes)] for u in range(n_nodes)]
    bw = [[0 if u == v else None for v in range(n_nodes)] for u in range(n_nodes)]
    for (u, v), (a, b) in links.items():
        lat[u][v] = lat[v][u] = a
        bw[u][v] = bw[v][u] = b
    return lat, bw


def switch_topology(g, alpha, bandwidth, switch_name):
    links = {(i, g): (alpha, bandwidth) for i in range(g)}
    return [f"GPU{i}" for i in range(g)] + [switch_name], links


def mesh_topology(g, alpha, bandwidth):
    links = {(i, j): (alpha, bandwidth) for i in range(g) for j in range(i + 1, g)}
    return [f"GPU{i}" for i in range(g)], links


def ring_topology(g, alpha, bandwidth):
    links = {(i, (i + 1) % g): (alpha, bandwidth) for i in range(g)}
    return [f"GPU{i}" for i in range(g)], links


def cube_mesh_topology(alpha, bandwidth):
    links = {}
    for base in (0, 4):
        for i in range(4):
            for j in range(i + 1, 4):
                links[(base + i, base + j)] = (alpha, bandwidth)
    for i in range(4):
        links[(i, i + 4)] = (alpha, bandwidth)
    return [f"GPU{i}" for i in range(8)], links


def pairs_plus_pcie(alpha_nv, bw_nv, alpha_pcie, bw_pcie):
    links = {(0, 1): (alpha_nv, bw_nv), (2, 3): (alpha_nv, bw_nv)}
    for i in range(4):
        links[(i, 4)] = (alpha_pcie, bw_pcie)
    return ["GPU0", "GPU1", "GPU2", "GPU3", "PCIeSwitch"], links


def t(owner, chunk, src, dst, as_string):
    if as_string:
        return f"D({owner}, {chunk}): G({src}) => G({dst})"
    return {"chunk": [owner, chunk], "src": src, "dst": dst}


def ring_plan(cycle, c, s):
    """Unidirectional ring along `cycle`: in step k, cycle[i] forwards the chunks of the GPU k
    places behind it to cycle[i+1]."""
    g = len(cycle)
    plan = []
    for k in range(g - 1):
        step = []
        for i in range(g):
            owner = cycle[(i - k) % g]
            for ch in range(c):
                step.append(t(owner, ch, cycle[i], cycle[(i + 1) % g], s))
        plan.append(step)
    return plan


def one_shot_plan(g, c, s):
    return [[t(i, ch, i, j, s) for i in range(g) for j in range(g) if i != j for ch in range(c)]]


def bidirectional_ring4_plan(c, s):
    step1 = [t(i, ch, i, (i + d) % 4, s) for i in range(4) for d in (1, 3) for ch in range(c)]
    step2 = [t((i - 1) % 4, ch, i, (i + 1) % 4, s) for i in range(4) for ch in range(c)]
    return [step1, step2]


def cube_mesh_plan(c, s):
    def neighbours(i):
        base = i - i % 4
        return [base + j for j in range(4) if base + j != i] + [(i + 4) % 8]
    step1 = [t(i, ch, i, j, s) for i in range(8) for j in neighbours(i) for ch in range(c)]
    step2 = []
    for i in range(8):
        partner = (i + 4) % 8
        base = partner - partner % 4
        for owner in range(base, base + 4):
            if owner != partner:
                step2 += [t(owner, ch, partner, i, s) for ch in range(c)]
    return [step1, step2]


SKUS = {
    "NDv5": ("8x H100 SXM joined by an NVSwitch fabric (modelled as one switch node).",
             lambda: switch_topology(8, 0.2, 450, "NVSwitch"), list(range(8)), "switch8"),
    "NDmv4": ("8x A100 80GB SXM joined by NVSwitch (modelled as one switch node).",
              lambda: switch_topology(8, 0.25, 300, "NVSwitch"), list(range(8)), "switch8"),
    "NDv4": ("8x A100 40GB SXM joined by NVSwitch (modelled as one switch node).",
             lambda: switch_topology(8, 0.25, 300, "NVSwitch"), list(range(8)), "switch8"),
    "ND MI300X v5": ("8x MI300X, every GPU pair joined by a direct Infinity Fabric link.",
                     lambda: mesh_topology(8, 0.5, 64), list(range(8)), "mesh"),
    "NCv3-like 4x V100 ring": ("4 GPUs on a ring of NVLink bridges; no other GPU path.",
                               lambda: ring_topology(4, 1.0, 50), [0, 1, 2, 3], "ring4"),
    "ND40rs v2 (DGX-1 V100)": ("8x V100 in a hybrid cube-mesh: two fully linked quads plus "
                               "links GPU i <-> GPU i+4.",
                               lambda: cube_mesh_topology(0.7, 25), [0, 1, 2, 3, 7, 6, 5, 4],
                               "cube"),
    "NC A100 v4 (4 GPU)": ("4x A100 PCIe: NVLink bridges join GPU0-GPU1 and GPU2-GPU3; every "
                           "other path crosses the PCIe switch.",
                           lambda: pairs_plus_pcie(0.3, 100, 2.0, 16), [0, 1, 2, 3], "pcie"),
}

VARIANTS = [
    ("NDv5", 2, 1.0), ("NDv5", 1, 4.0), ("NDv5", 4, 0.5), ("NDv5", 2, 16.0),
    ("NDmv4", 2, 1.0), ("NDmv4", 1, 8.0), ("NDv4", 4, 2.0), ("NDv4", 1, 0.25),
    ("ND MI300X v5", 1, 1.0), ("ND MI300X v5", 2, 4.0), ("ND MI300X v5", 4, 0.5),
    ("NCv3-like 4x V100 ring", 1, 1.0), ("NCv3-like 4x V100 ring", 2, 2.0),
    ("NCv3-like 4x V100 ring", 4, 0.5), ("NCv3-like 4x V100 ring", 1, 32.0),
    ("ND40rs v2 (DGX-1 V100)", 1, 1.0), ("ND40rs v2 (DGX-1 V100)", 2, 0.5),
    ("ND40rs v2 (DGX-1 V100)", 1, 8.0), ("ND40rs v2 (DGX-1 V100)", 3, 1.0),
    ("NC A100 v4 (4 GPU)", 1, 1.0), ("NC A100 v4 (4 GPU)", 2, 4.0),
    ("NC A100 v4 (4 GPU)", 4, 0.5), ("NDv5", 3, 2.0), ("ND MI300X v5", 3, 1.5),
    ("NC A100 v4 (4 GPU)", 1, 16.0), ("NDmv4", 4, 1.0),
]


def main():
    for n, (sku, c, mb) in enumerate(VARIANTS, start=1):
        description, build, cycle, kind = SKUS[sku]
        nodes, links = build()
        lat, bw = matrices(len(nodes), links)
        g = len(cycle)
        s = n % 3 == 0  # every third record spells transfers the paper's way
        if kind == "ring4":
            improved = bidirectional_ring4_plan(c, s)
        elif kind == "cube":
            improved = cube_mesh_plan(c, s)
        else:
            improved = one_shot_plan(g, c, s)
        record = {
            "id": f"optiflow-{n:03d}", "sku": sku, "description": description,
            "num_gpus": g, "nodes": nodes, "chunks_per_gpu": c, "chunk_mb": mb,
            "latency_us": lat, "bandwidth_gbps": bw,
            "reference_plan": ring_plan(cycle, c, s), "improved_plan": improved,
        }
        print(json.dumps(record, separators=(",", ":")))


if __name__ == "__main__":
    main()
