// Obmen UI: the little script there is. Kanban drag and drop sets the
// card's own stage select and submits its form, so dragging and the
// keyboard path (select + "Move") do the same request.
document.addEventListener("DOMContentLoaded", function () {
  var dragged = null;
  document.querySelectorAll(".kcard").forEach(function (card) {
    card.addEventListener("dragstart", function (ev) {
      dragged = card;
      ev.dataTransfer.setData("text/plain", card.dataset.id);
      ev.dataTransfer.effectAllowed = "move";
    });
  });
  document.querySelectorAll(".column").forEach(function (col) {
    col.addEventListener("dragover", function (ev) { ev.preventDefault(); col.classList.add("over"); });
    col.addEventListener("dragleave", function () { col.classList.remove("over"); });
    col.addEventListener("drop", function (ev) {
      ev.preventDefault();
      col.classList.remove("over");
      var id = ev.dataTransfer.getData("text/plain");
      var card = dragged || document.getElementById("deal-" + id);
      if (!card) { return; }
      var form = card.querySelector("form.move");
      form.querySelector("select").value = col.dataset.stage;
      form.requestSubmit();
    });
  });
});
