// Admin-wide accessibility fixes (WCAG 2.1 AA, checked by axe in the browser tests).
//
// The admin's autocomplete fields are select2 widgets: the visible combobox and the text
// box inside it are <span>s that select2 builds next to the hidden <select>, and neither
// carries an accessible name. Give both the field's own label text, so a screen reader
// announces "Unit" instead of nothing.
"use strict";
(function () {
    function nameAutocompletes() {
        document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
            var label = document.querySelector('label[for="' + select.id + '"]');
            if (!label) {
                return;
            }
            var name = label.textContent.replace(/[:：]\s*$/, "").trim();
            select.parentElement
                .querySelectorAll(".select2-selection, .select2-selection__rendered")
                .forEach(function (node) {
                    if (node.getAttribute("aria-label") !== name) {
                        node.setAttribute("aria-label", name);
                    }
                });
        });
    }
    // select2 builds (and rebuilds) its widgets from a jQuery ready handler whose timing
    // varies with the page: name them whenever the form's nodes change.
    document.addEventListener("DOMContentLoaded", function () {
        nameAutocompletes();
        new MutationObserver(nameAutocompletes).observe(document.body, {
            childList: true,
            subtree: true,
        });
    });
})();
