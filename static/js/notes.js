// Notes shown beside a reply, worked out from the visitor's message it answers: the model only
// understands English, and some messages deserve a pointer to real help whatever it replies.
// Both are heuristics on purpose: a note too many costs little, a missing one is the old page.

// Common words of other languages that are not English words (Portuguese, Spanish, French,
// German, Italian).
const FOREIGN = new Set((
  "oi olá ola tudo bem você voce vocês não nao sim obrigado obrigada está estou tá como vai " +
  "que quê porque muito bom boa dia noite tarde eu meu minha seu sua isso isto aqui também " +
  "hola qué gracias estás estoy muy bueno buenos buenas cómo usted tengo quiero también " +
  "bonjour salut merci oui je suis vous est pas ça comment très bien avec pour " +
  "hallo ich bin nicht danke wie geht und das ist ja nein gut bitte " +
  "ciao grazie sono come stai bene buongiorno"
).split(" "));
const ENGLISH = new Set((
  "the a an i you he she it we they is are was am be do does did have has not no yes what " +
  "how why who where when hi hello hey thanks thank good my your me to of in on and or but " +
  "like love want can will would this that so ok okay"
).split(" "));

// Grief, loneliness and self-harm, in English and Portuguese.
const SUPPORT = [
  /\b(suicid\w*|kill(ing)? myself|end (it all|my life)|want(ed)? to die|self[- ]?harm\w*|hurt(ing)? myself|cut(ting)? myself)\b/i,
  /\b(lonely|loneliness|all alone|no friends|nobody cares|no one cares)\b/i,
  /\b(griev\w*|grief|passed away|funeral|mourning|(lost|losing) my (mom|mum|mother|dad|father|wife|husband|son|daughter|brother|sister|friend|baby|child))\b/i,
  /(suic[ií]d\w*|me matar|quero morrer|me machucar|me cortar|automutila\w*|sozinh[oa]|solid[aã]o|ningu[eé]m se importa|luto|faleceu|morreu|perdi (minha|meu))/i,
];

function words(text) {
  return text.toLowerCase().match(/\p{L}+/gu) ?? [];
}

// True when the message looks written in another language than English.
export function notEnglish(text) {
  const letters = text.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return false;
  const latin = letters.filter((c) => /\p{Script=Latin}/u.test(c)).length;
  if (latin / letters.length < 0.5) return true; // Cyrillic, Greek, Arabic, CJK...
  const found = words(text);
  const foreign = found.filter((w) => FOREIGN.has(w)).length;
  const english = found.filter((w) => ENGLISH.has(w)).length;
  const accented = /[ãõçñßàâêôûäöüœ]/i.test(text) ? 1 : 0;
  return foreign + accented > english && foreign + accented >= 1;
}

export function needsSupport(text) {
  return SUPPORT.some((pattern) => pattern.test(text));
}
