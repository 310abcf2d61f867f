import json, statistics as st, math
lines = open(__import__("pathlib").Path(__file__).with_name("runs.txt")).read().splitlines()
merged = {}
for i in range(0, len(lines), 2):
    for r in json.loads(lines[i+1]):
        if "cur" in r: merged.setdefault(lines[i].split(":")[0], {})[r["seed"]] = r
for name, rs in merged.items():
    res = list(rs.values())
    if len(res) < 20: continue
    n = len(res)
    def pd(a, b):
        d = [r[a] - r[b] for r in res]; return st.fmean(d), st.stdev(d) / math.sqrt(n)
    best = [max(r["one-shot"], r["irregular"]) for r in res]
    da, sa = pd("admm", "cur"); dc, sc = pd("ce", "cur_ce")
    dos, sos = pd("admm", "one-shot"); dir_, sir = pd("admm", "irregular")
    pre = st.fmean(r["pre"] for r in res)
    print(f"{name:14s} n={n} acc {st.fmean(r['admm'] for r in res):.2f} d_cur {da:+.2f}±{sa:.2f} | ce {st.fmean(r['ce'] for r in res):.4f} d {dc:+.4f}±{sc:.4f} | vs os {dos:+.2f}±{sos:.2f} vs ir {dir_:+.2f}±{sir:.2f} | pre {pre:.2f}")
