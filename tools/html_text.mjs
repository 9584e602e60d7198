// The text a reader sees in an HTML page, for token counts: the head, scripts and styles
// dropped, tags replaced by spaces, character references decoded, runs of white space folded.
// Shared by the length and interleaved dataset builders so both count a page the same way.
const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

// Text of an HTML fragment (no head/script/style handling: see pageBody).
export function textOf(html) {
  return html.replace(/<[^>]*>/g, ' ')
    .replace(/&(#x?[0-9a-fA-F]+|\w+);/g, (m, e) => e[0] === '#'
      ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
      : (entities[e] ?? m))
    .replace(/\s+/g, ' ').trim();
}

// A whole page without its head, scripts and styles (still HTML).
export function pageBody(html) {
  return html.replace(/<head[\s\S]*?<\/head>/i, '').replace(/<(script|style)[\s\S]*?<\/\1>/gi, '');
}
