"""The association as a networkx graph (tracklets, candidate edges and their evidence), and
its JSON form (graph.json). The only `mcvrt` module that imports networkx."""

from __future__ import annotations

from typing import Any

import networkx as nx

from mcvrt.association.candidates import NO_PAIRS, Pairs
from mcvrt.association.clustering import Clustering, Links
from mcvrt.association.table import Table


def build_graph(table: Table, pairs: Pairs, clustering: Clustering, links: Links,
                fragments: Pairs = NO_PAIRS) -> nx.Graph:
    """Every tracklet a node, every candidate pair an edge, the user's links and the re-linked
    fragments graph attributes.

    Node attributes: camera, track_id, start_s, end_s, n_frames, class_id, has_embedding, the
    tracklet's `extra` (e.g. condition) and global_id. Edge attributes: similarity
    (the edge score), time_gap_s and merged (True when the edge caused a merge). With any
    must- or cannot-links, ``graph.graph["links"]`` holds them; with re-linked fragments,
    ``graph.graph["fragments"]`` lists them as [earlier key, later key].
    """
    graph = nx.Graph()
    if links.must or links.cannot:
        graph.graph["links"] = {"must": [list(map(list, p)) for p in links.must],
                                "cannot": [list(map(list, p)) for p in links.cannot]}
    if len(fragments):
        graph.graph["fragments"] = [[list(table.tracklets[i].key), list(table.tracklets[j].key)]
                                    for i, j in zip(fragments.i, fragments.j, strict=True)]
    for row in sorted(range(len(table)), key=lambda r: table.tracklets[r].key):
        t = table.tracklets[row]
        graph.add_node(t.key, camera=t.camera_id, track_id=t.track_id, start_s=t.start_s,
                       end_s=t.end_s, n_frames=len(t.frames), class_id=t.class_id,
                       has_embedding=bool(table.has_embedding[row]), **t.extra,
                       global_id=int(clustering.labels[row]))
    for e in range(len(pairs)):
        a, b = table.tracklets[pairs.i[e]], table.tracklets[pairs.j[e]]
        graph.add_edge(a.key, b.key, similarity=float(pairs.score[e]),
                       time_gap_s=float(pairs.gap[e]), merged=bool(clustering.merged[e]))
    return graph


def graph_to_dict(graph: nx.Graph) -> dict[str, Any]:
    """JSON-able view of an association graph: nodes, edges with their evidence, clusters, and
    the user's links when there are any.

    Keys become ``[camera, track_id]`` lists; times are rounded to ms, similarities to 1e-4.
    """
    nodes = [{**attrs, "start_s": round(attrs["start_s"], 3), "end_s": round(attrs["end_s"], 3)}
             for _, attrs in sorted(graph.nodes(data=True))]
    edges = sorted((min(u, v), max(u, v), attrs) for u, v, attrs in graph.edges(data=True))
    clusters: dict[int, list[list[Any]]] = {}
    for key, gid in sorted(graph.nodes(data="global_id")):
        clusters.setdefault(gid, []).append(list(key))
    return {
        "nodes": nodes,
        "edges": [{"a": list(u), "b": list(v), **attrs,
                   "similarity": round(attrs["similarity"], 4),
                   "time_gap_s": round(attrs["time_gap_s"], 3)} for u, v, attrs in edges],
        "clusters": [{"global_id": gid, "members": members}
                     for gid, members in sorted(clusters.items())],
        **graph.graph,
    }
