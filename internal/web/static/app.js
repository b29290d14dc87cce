// Obmen UI: the little script there is. Kanban drag and drop sets the
// card's own stage select and submits its form, so dragging and the
// keyboard path (select + "Move") do the same request. The listeners sit
// on the document, so that cards htmx adds later ("show more") drag too.
document.addEventListener("DOMContentLoaded", function () {
  var dragged = null;
  document.addEventListener("dragstart", function (ev) {
    var card = ev.target.closest && ev.target.closest(".kcard");
    if (!card) { return; }
    dragged = card;
    ev.dataTransfer.setData("text/plain", card.dataset.id);
    ev.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (ev) {
    var col = ev.target.closest && ev.target.closest(".column");
    if (!col) { return; }
    ev.preventDefault();
    col.classList.add("over");
  });
  document.addEventListener("dragleave", function (ev) {
    var col = ev.target.closest && ev.target.closest(".column");
    if (col) { col.classList.remove("over"); }
  });
  document.addEventListener("drop", function (ev) {
    var col = ev.target.closest && ev.target.closest(".column");
    if (!col) { return; }
    ev.preventDefault();
    col.classList.remove("over");
    var id = ev.dataTransfer.getData("text/plain");
    var card = dragged || document.getElementById("deal-" + id);
    dragged = null;
    if (!card) { return; }
    var form = card.querySelector("form.move");
    form.querySelector("select").value = col.dataset.stage;
    form.requestSubmit();
  });
});
