"""The incremental story assigner: each new report joins the closest story of the last 72 hours, or
starts a new one.

Two reports are one story when their words are close enough *given what the classifier says*:
the same Kab/Kota and a shared case make a weaker text match sufficient ("Kecelakaan Maut di Kartasura"
and "Truk Tabrak 3 Motor di Jalan Solo-Semarang" share almost no title word but share the city, the
case and the lead's details), while a different Kab/Kota, disjoint cases or conflicting details (another
kecamatan, another toll-road KM, another quake magnitude) demand much more. Province conflicts are
vetoed outright unless the text is a near-copy.

Cost does not grow with the window: candidates come from two small indexes, (Kab/Kota, case) and the
report's rarest words, and only those are scored.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field

from bot.stories.features import ReportFeatures

WINDOW_SECONDS = 72 * 3600
IDF_PRIOR_DOCS = 1000

# Cases one incident moves between as it is reported and followed up: a crash at sea becomes a search
# for the missing, a robbery turns out to be a killing, layoffs bring a protest.
_CASE_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"kecelakaan", "orang_hilang", "kebakaran", "infrastruktur"}),
    frozenset({"pembunuhan", "penganiayaan", "pencurian", "asusila", "bunuh_diri", "orang_hilang"}),
    frozenset({"ketenagakerjaan", "unjuk_rasa"}),
    frozenset({"banjir", "tanah_longsor", "cuaca_ekstrem", "gempa", "infrastruktur", "orang_hilang"}),
    frozenset({"kebakaran", "lingkungan"}),
    frozenset({"korupsi", "penipuan"}),
    frozenset({"kesehatan_wabah", "lingkungan"}),
    frozenset({"narkoba", "judi"}),
    frozenset({"terorisme", "unjuk_rasa"}),
    frozenset({"pemilu", "unjuk_rasa"}),
)


def related_cases(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> bool:
    return any(fam & a and fam & b for fam in _CASE_FAMILIES)


@dataclass(frozen=True, slots=True)
class Params:
    """Weights of the decision; chosen on dev_clusters, checked on tests/data/stories_written.jsonl."""

    threshold: float = 0.34  # score needed to join a story
    same_city: float = 0.14
    same_province: float = 0.04
    shared_case: float = 0.10
    related_case: float = 0.05  # cases of one family (kecelakaan / orang_hilang)
    one_side_case: float = 0.03  # one side has no case: no evidence either way, the other fits nothing else
    city_conflict: float = 0.25  # both name a Kab/Kota of one province, none in common
    case_conflict: float = 0.10  # both have cases, unrelated
    kecamatan_conflict: float = 0.20  # same Kab/Kota but the lead names another kecamatan
    same_kecamatan: float = 0.08  # …or the same one
    unknown_title_place: float = 0.08  # the headline's place ("di Nusukan") is named by no report of the story
    detail_veto_sim: float = 0.75  # another province is overruled only by a near-copy (misread dateline)
    hours_decay: float = 0.0005  # per hour since the story's last report
    rare_terms: int = 6  # candidate lookup: the report's N rarest words
    max_posting: int = 400  # words in more stories than this are too common to look up
    max_candidates: int = 24  # stories scored in full: those sharing the most rare-word weight
    compare_reports: int = 6  # a story is compared through its first and latest reports


@dataclass(slots=True)
class _Story:
    id: int
    first: float
    last: float
    reports: list[ReportFeatures] = field(default_factory=list)
    norms: list[float] = field(default_factory=list)  # each report's vector length, at the IDF of its arrival
    refs: list[int] = field(default_factory=list)  # caller's ids of the reports (article ids), in order
    cities: set[str] = field(default_factory=set)
    provinces: set[str] = field(default_factory=set)
    cases: set[str] = field(default_factory=set)
    kecamatan: set[str] = field(default_factory=set)
    km: set[str] = field(default_factory=set)
    magnitude: set[str] = field(default_factory=set)
    title_places: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Decision:
    story_id: int | None  # None: a new story
    score: float


class StoryAssigner:
    """In-memory window of recent stories. `decide` is pure; `add` records a report in a story."""

    def __init__(self, params: Params | None = None, window_seconds: float = WINDOW_SECONDS) -> None:
        self.params = params or Params()
        self.window = window_seconds
        self._stories: dict[int, _Story] = {}
        self._term_index: dict[str, set[int]] = defaultdict(set)  # term -> ids
        self._df: dict[str, int] = defaultdict(int)  # term -> reports in the window containing it
        self._reports = 0
        # (last time, id) of every report added, smallest first: eviction pops what left the window.
        # A heap, not a queue in arrival order: reports do not arrive in time order (a feed's late item,
        # a slow feed's older news), and an old story queued behind a newer one would never leave.
        self._by_last: list[tuple[float, int]] = []
        self.now = 0.0

    def __len__(self) -> int:
        return len(self._stories)

    # -- scoring -----------------------------------------------------------------------------------

    def _idf(self, term: str) -> float:
        # IDF_PRIOR_DOCS pseudo-reports that contain no term keep the weights stable while the
        # window is small (after a restart, in a test file), so a report's length computed on arrival
        # stays valid as the window fills.
        return math.log((self._reports + IDF_PRIOR_DOCS) / (self._df.get(term, 0) + 1))

    def _cosine(
        self, a: ReportFeatures, a_norm: float, b: ReportFeatures, b_norm: float, idf: dict[str, float]
    ) -> float:
        dot = 0.0
        b_terms = b.terms
        for t, w in a.terms.items():
            w2 = b_terms.get(t)
            if w2 is not None:
                dot += w * w2 * idf[t] ** 2
        return dot / (a_norm * b_norm) if dot else 0.0

    def _norm(self, report: ReportFeatures) -> float:
        return math.sqrt(sum((w * self._idf(t)) ** 2 for t, w in report.terms.items())) or 1.0

    def score(self, report: ReportFeatures, story: _Story, idf: dict[str, float], a_norm: float) -> float:
        """How well `report` fits `story`; -inf when a detail rules it out."""
        p = self.params
        n = len(story.reports)
        picks = range(n) if n <= p.compare_reports else (0, *range(n - p.compare_reports + 1, n))
        sim = max(self._cosine(report, a_norm, story.reports[i], story.norms[i], idf) for i in picks)
        near_copy = sim >= p.detail_veto_sim
        if report.provinces and story.provinces and not report.provinces & story.provinces and not near_copy:
            return -math.inf
        # Another toll-road KM or another quake magnitude is another incident, however alike the text:
        # bulletins are written from one template, and a republished copy keeps its numbers.
        if report.km and story.km and not report.km & story.km:
            return -math.inf
        if report.magnitude and story.magnitude and not report.magnitude & story.magnitude:
            return -math.inf
        s = sim
        if report.cities and story.cities:
            if report.cities & story.cities:
                s += p.same_city
                if report.kecamatan and story.kecamatan:
                    s += p.same_kecamatan if report.kecamatan & story.kecamatan else -p.kecamatan_conflict
            else:
                s -= p.city_conflict
        elif report.provinces & story.provinces:
            s += p.same_province
        if report.cases and story.cases:
            if report.cases & story.cases:
                s += p.shared_case
            elif related_cases(report.cases, story.cases):
                s += p.related_case
            else:
                s -= p.case_conflict
        elif report.cases or story.cases:
            s += p.one_side_case
        # The story's words are its reports' terms (no separate set: the window holds many stories).
        if report.title_places and not any(place in r.terms for r in story.reports for place in report.title_places):
            s -= p.unknown_title_place
        s -= p.hours_decay * max(0.0, (report.time - story.last) / 3600)
        return s

    # -- candidates --------------------------------------------------------------------------------

    def _candidates(self, report: ReportFeatures, idf: dict[str, float]) -> list[int]:
        """The stories that share the most weight of the report's rarest words, best first.

        Nothing else can reach the threshold: without a shared word the text scores 0, and the
        place and case bonuses alone stay below it (a test keeps that true). Words in more than
        `max_posting` stories are skipped: they are too common to tell stories apart, and their
        posting lists are what would make the cost grow with the window.
        """
        p = self.params
        df = self._df
        present = [t for t in report.terms if t in df]
        present.sort(key=df.__getitem__)
        acc: dict[int, float] = defaultdict(float)
        for t in present[: p.rare_terms]:
            ids = self._term_index[t]
            if len(ids) > p.max_posting:
                break  # the rest are commoner still
            weight = report.terms[t] * idf[t]
            for sid in ids:
                acc[sid] += weight
        if len(acc) <= p.max_candidates:
            return list(acc)
        return heapq.nlargest(p.max_candidates, acc, key=acc.__getitem__)

    def decide(self, report: ReportFeatures) -> Decision:
        """The story `report` belongs to, or None for a new one. Records nothing (only drops stories
        that have left the window by the report's time)."""
        self._evict(report.time)
        best_id: int | None = None
        best = -math.inf
        idf = {t: self._idf(t) for t in report.terms}
        a_norm = math.sqrt(sum((w * idf[t]) ** 2 for t, w in report.terms.items())) or 1.0
        for sid in self._candidates(report, idf):
            story = self._stories.get(sid)
            if story is None or report.time - story.last > self.window:
                continue
            s = self.score(report, story, idf, a_norm)
            if s > best:
                best, best_id = s, sid
        if best_id is not None and best >= self.params.threshold:
            return Decision(best_id, best)
        return Decision(None, best if best_id is not None else 0.0)

    # -- recording ---------------------------------------------------------------------------------

    def add(self, story_id: int, report: ReportFeatures, ref: int = 0) -> None:
        """Record `report` (the caller's id `ref`) as part of story `story_id` (new or in the window)."""
        story = self._stories.get(story_id)
        if story is None:
            story = _Story(story_id, report.time, report.time)
            self._stories[story_id] = story
        story.reports.append(report)
        story.refs.append(ref)
        story.cities |= report.cities
        story.provinces |= report.provinces
        story.cases |= report.cases
        story.kecamatan |= report.kecamatan
        story.km |= report.km
        story.magnitude |= report.magnitude
        story.title_places |= report.title_places
        story.first = min(story.first, report.time)
        story.last = max(story.last, report.time)
        for t in report.terms:
            self._df[t] += 1
            self._term_index[t].add(story_id)
        self._reports += 1
        story.norms.append(self._norm(report))
        heapq.heappush(self._by_last, (story.last, story_id))
        self.now = max(self.now, report.time)

    def representative(self, story_id: int) -> int | None:
        """The `ref` of the report closest to all the others (the story's medoid); the first on ties.

        The medoid's title names what most reports are about, rather than one outlet's angle on it.
        Only the first 12 reports are compared: later ones are follow-ups, and it keeps the cost flat.
        """
        story = self._stories.get(story_id)
        if story is None:
            return None
        reports = story.reports[:12]
        if len(reports) <= 2:
            return story.refs[0]
        idf = {t: self._idf(t) for r in reports for t in r.terms}
        norms = story.norms
        best, best_i = -1.0, 0
        for i, r in enumerate(reports):
            total = sum(self._cosine(r, norms[i], o, norms[j], idf) for j, o in enumerate(reports) if j != i)
            if total > best + 1e-9:
                best, best_i = total, i
        return story.refs[best_i]

    def _evict(self, now: float) -> None:
        """Evict stories whose latest report left the window (each heap entry is popped once)."""
        horizon = now - self.window
        q = self._by_last
        while q and q[0][0] < horizon:
            _, sid = heapq.heappop(q)
            story = self._stories.get(sid)
            if story is None or story.last >= horizon:
                continue  # a later report keeps it; that report's entry is further down the heap
            del self._stories[sid]
            for r in story.reports:
                self._reports -= 1
                for t in r.terms:
                    self._df[t] -= 1
                    ids = self._term_index.get(t)
                    if ids is not None:
                        ids.discard(sid)
                        if not ids:
                            del self._term_index[t]
                    if self._df[t] <= 0:
                        del self._df[t]
