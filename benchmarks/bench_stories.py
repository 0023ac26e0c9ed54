"""Story assignment cost with a full window (not a test).

    python benchmarks/bench_stories.py [--stories 100000] [--articles 2000] [--json OUT]

Fills a `StoryAssigner` with N stories spread over the last 72 hours (1-3 reports each), then times
`decide` + `add` for new reports at the end of the window: half are follow-ups of a random existing story
(most of its words, a few new ones), half are new incidents. Features are synthetic but shaped like
real ones: words drawn from a Zipf-distributed vocabulary of 200,000 (s = 1.1, so "common" words have
long posting lists), three story-specific names, Kab/Kota drawn with a skew towards big cities (the top
one holds ~5 % of all stories), a case for 80 %, a kecamatan for half. Building the window is not timed.
Feature extraction from text is part of classification and timed in bench_classify.py.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import city_names  # noqa: E402
from bot.classify import CASE_KEYS  # noqa: E402
from bot.stories import WINDOW_SECONDS, ReportFeatures, StoryAssigner  # noqa: E402

VOCAB = 200_000
T_END = 1_760_000_000.0


class Corpus:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        weights = [1 / (r**1.1) for r in range(1, VOCAB + 1)]
        self.cum = list(itertools.accumulate(weights))
        self.words = [f"w{r}" for r in range(VOCAB)]
        cities = city_names()
        self.cities = [code for code, _ in cities]
        cw = [1 / (r**0.8) for r in range(1, len(self.cities) + 1)]
        self.city_cum = list(itertools.accumulate(cw))

    def word(self) -> str:
        return self.words[bisect.bisect(self.cum, self.rng.random() * self.cum[-1])]

    def city(self) -> str:
        return self.cities[bisect.bisect(self.city_cum, self.rng.random() * self.city_cum[-1])]

    def story(self, when: float) -> ReportFeatures:
        rng = self.rng
        terms = {self.word(): rng.choice((1.0, 2.0)) for _ in range(25)}
        for _ in range(3):
            terms[f"name{rng.randrange(2_000_000)}"] = 2.0
        city = self.city()
        case = frozenset({rng.choice(CASE_KEYS)}) if rng.random() < 0.8 else frozenset()
        kec = frozenset({f"kec{rng.randrange(15)}"}) if rng.random() < 0.5 else frozenset()
        return ReportFeatures(
            terms=terms,
            cities=frozenset({city}),
            provinces=frozenset({city.split(".")[0]}),
            cases=case,
            kecamatan=kec,
            title_places=frozenset(),
            km=frozenset(),
            magnitude=frozenset(),
            time=when,
        )

    def follow_up(self, base: ReportFeatures, when: float) -> ReportFeatures:
        rng = self.rng
        kept = {t: w for t, w in base.terms.items() if rng.random() < 0.6}
        for _ in range(10):
            kept[self.word()] = 1.0
        return ReportFeatures(
            terms=kept,
            cities=base.cities,
            provinces=base.provinces,
            cases=base.cases,
            kecamatan=base.kecamatan,
            title_places=base.title_places,
            km=base.km,
            magnitude=base.magnitude,
            time=when,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this path")
    args = parser.parse_args()
    corpus = Corpus(args.seed)
    assigner = StoryAssigner()
    start = T_END - WINDOW_SECONDS + 60
    step = (WINDOW_SECONDS - 120) / args.stories
    t0 = time.perf_counter()
    firsts: list[ReportFeatures] = []
    for sid in range(1, args.stories + 1):
        when = start + sid * step
        report = corpus.story(when)
        firsts.append(report)
        assigner.add(sid, report)
        for _ in range(corpus.rng.choice((0, 0, 1, 2))):
            assigner.add(sid, corpus.follow_up(report, when))
    build_s = time.perf_counter() - t0
    in_window = len(assigner)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    times: list[float] = []
    joined = follow_ups = 0
    next_id = args.stories + 1
    for i in range(args.articles):
        when = T_END - 30 + i * 0.01
        if i % 2 == 0:
            report, follow_ups = corpus.follow_up(corpus.rng.choice(firsts), when), follow_ups + 1
        else:
            report = corpus.story(when)
        t = time.perf_counter()
        decision = assigner.decide(report)
        sid = decision.story_id
        if sid is None:
            sid, next_id = next_id, next_id + 1
        else:
            joined += 1
        assigner.add(sid, report)
        times.append(time.perf_counter() - t)
    times.sort()
    mean_ms = sum(times) / len(times) * 1000
    p95_ms = times[int(len(times) * 0.95)] * 1000
    print(
        f"{in_window} stories in the window (built in {build_s:.1f} s, peak RSS {rss_mb:.0f} MB); "
        f"{args.articles} reports: "
        f"mean {mean_ms:.3f} ms, p95 {p95_ms:.3f} ms, max {times[-1] * 1000:.2f} ms per report; "
        f"{joined} joined a story ({follow_ups} were follow-ups)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "stories": in_window,
                    "articles": args.articles,
                    "mean_ms": round(mean_ms, 3),
                    "p95_ms": round(p95_ms, 3),
                    "max_ms": round(times[-1] * 1000, 2),
                    "peak_rss_mb": round(rss_mb),
                    "joined": joined,
                    "follow_ups": follow_ups,
                }
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
