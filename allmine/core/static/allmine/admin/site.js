/* On a phone the changelist's filters come first (site.css): they start folded,
   except those the moderator opened (admin/js/filters.js remembers them). */
'use strict';
{
    if (window.matchMedia('(max-width: 767px)').matches) {
        const saved = JSON.parse(sessionStorage.getItem('django.admin.filtersState') || '{}');
        document.querySelectorAll('#changelist-filter details[open]').forEach(detail => {
            if (!saved[detail.dataset.filterTitle]) {
                detail.removeAttribute('open');
            }
        });
    }
}
