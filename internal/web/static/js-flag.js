// Marks the page as scripted before it is painted, so that styles meant
// for a page with JavaScript apply from the first frame (a file, not an
// inline script: the Content-Security-Policy allows scripts from this
// origin only).
document.documentElement.classList.add("js");
