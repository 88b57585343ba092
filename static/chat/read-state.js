// Read state: what the reader has seen is told to the server (markRead), at most once per
// `intervalMs` (within markRead's rate limit), while the page is visible and scrolled to the
// newest post: unread counts follow it elsewhere. It also keeps the newest room position
// seen (a post's or an edit's), where the live stream resumes.

const MARK_READ = "mutation($input: MarkReadInput!){ markRead(input:$input){ lastReadSeq } }";

export function readState({ graphql, posts, roomId, intervalMs }) {
  let lastEventSeq = 0;
  let sent = 0;
  let timer = null;

  function resumePosition() {
    return Math.max(posts.newestSeq(), lastEventSeq);
  }

  function schedule() {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      const seq = resumePosition();
      if (seq <= sent || document.visibilityState !== "visible" || !posts.nearBottom()) return;
      sent = seq;
      graphql(MARK_READ, { input: { roomId: roomId, seq: seq } }).catch(() => { sent = 0; });
    }, intervalMs);
  }

  document.addEventListener("visibilitychange", schedule);
  posts.scroller.addEventListener("scroll", () => { if (posts.nearBottom()) schedule(); }, { passive: true });

  return {
    schedule: schedule,
    resumePosition: resumePosition,
    // A room event at `seq` arrived.
    seen(seq) {
      if (seq > lastEventSeq) lastEventSeq = seq;
      schedule();
    },
    // The history was reloaded: it is the new place to resume from.
    reloaded() {
      lastEventSeq = 0;
    },
  };
}
