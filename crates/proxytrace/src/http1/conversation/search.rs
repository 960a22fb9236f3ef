//! The conversation when framing is lost: the search for a request line, and what the
//! server's side says about the heads it found (the verdicts are in
//! `http1::resync`).

use super::{Conversation, Ctx, Dead, Phase};
use crate::http1::resync::{final_response_start, Answer};
use crate::http1::scan::{
    find_request_anywhere, find_resync, plausible_line_prefix, valid_request_line, MAX_RESYNC_LINE,
};
use crate::tcp::segment::SegPos;
use crate::tcp::stream::StreamAt;
use memchr::memchr;

impl Conversation {
    /// The server started a response (`payload` is a server segment's) while the client
    /// stream stood at `client_at`: corroborates or refutes the held candidates.
    pub(crate) fn on_response(&mut self, payload: &[u8], client_at: u64, ctx: &mut Ctx<'_>) {
        if !final_response_start(payload) {
            return;
        }
        self.response_at = Some(client_at);
        // The last held message is complete (a new head may be arriving) or a tunnel.
        let complete = matches!(self.phase, Phase::Head | Phase::Dead(Dead::Tunnel));
        match self.candidates.answered(complete, ctx.stats, ctx.out) {
            Answer::Nothing => {}
            Answer::Corroborated(n) => self.ordinal = self.ordinal.saturating_sub(n as u32),
            Answer::Rejected(n) => {
                self.ordinal = self.ordinal.saturating_sub(n as u32);
                self.start_resync(ctx, true);
            }
        }
    }

    /// Framing is lost: look for a request line at line starts. A candidate line that
    /// continues in a later segment is kept in `buf` (bounded) until its LF arrives.
    pub(super) fn step_resync(
        &mut self,
        d: &[u8],
        at_line_start: bool,
        at: StreamAt,
        pos: SegPos,
        ctx: &mut Ctx<'_>,
    ) -> usize {
        let max_line = ctx.max_head_bytes.clamp(1, MAX_RESYNC_LINE);
        let old = self.buf.len();
        if old > 0 {
            return match memchr(b'\n', d) {
                Some(i) => {
                    self.buf.extend_from_slice(&d[..i]);
                    if valid_request_line(&self.buf, true) {
                        // The head started in an earlier segment (position recorded
                        // then); the head step re-appends from `d`.
                        self.buf.truncate(old);
                        self.resync_anywhere = false;
                        ctx.stats.resync_heads_found += 1;
                        self.phase = Phase::Head;
                        self.line1_done = false;
                        self.scan_from = 0;
                        0
                    } else {
                        ctx.stats.resync_bytes_skipped += (old + i + 1) as u64;
                        self.buf.clear();
                        self.phase = Phase::Resync {
                            at_line_start: true,
                        };
                        i + 1
                    }
                }
                None => {
                    self.buf.extend_from_slice(d);
                    if self.buf.len() > max_line || !plausible_line_prefix(&self.buf) {
                        ctx.stats.resync_bytes_skipped += self.buf.len() as u64;
                        self.buf.clear();
                        self.phase = Phase::Resync {
                            at_line_start: false,
                        };
                    }
                    d.len()
                }
            };
        }
        // A client segment right after a response starts a message: a proxy writes its
        // next request there.
        let at_line_start =
            at_line_start || (self.response_at == Some(at.offset) && at.offset == self.seg_from);
        let found = if self.resync_anywhere {
            // A segment's first byte is a plausible message start too.
            find_request_anywhere(d)
        } else {
            find_resync(d, at_line_start)
        };
        if let Some(k) = found {
            ctx.stats.resync_bytes_skipped += k as u64;
            ctx.stats.resync_heads_found += 1;
            self.resync_anywhere = false;
            self.phase = Phase::Head;
            return k;
        }
        let tail = match memchr::memrchr(b'\n', d) {
            Some(i) => Some(i + 1),
            None if at_line_start => Some(0),
            None => None,
        };
        match tail {
            Some(t) if t < d.len() && d.len() - t <= max_line && plausible_line_prefix(&d[t..]) => {
                ctx.stats.resync_bytes_skipped += t as u64;
                self.head_ts = pos.ts_ns;
                self.head_pkt = pos.packet_index;
                self.head_seq = at.seq + t;
                self.head_pos = at.offset + t as u64;
                self.head_seg_start = self.head_pos == self.seg_from;
                self.buf.extend_from_slice(&d[t..]);
            }
            _ => {
                ctx.stats.resync_bytes_skipped += d.len() as u64;
                self.phase = Phase::Resync {
                    at_line_start: d.last() == Some(&b'\n'),
                };
            }
        }
        d.len()
    }
}
