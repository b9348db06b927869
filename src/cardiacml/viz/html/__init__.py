"""Interactive, self-contained HTML pages (plotly), built from NumPy arrays.

* :mod:`.page` - the page shell: offline plotly.js, CSS, lazy drawing, escaping, atomic writing;
* :mod:`.record` - :func:`record_page`, a whole recording with every beat's class;
* :mod:`.heart` - :func:`heart_page`, activation maps / Vm movie / 12-lead viewer on the 3-D heart;
* :mod:`.beats` - :func:`beat_run_page`, confusion matrix and example beats of a beat classifier.

Every page is one offline file: plotly.js is embedded inline once per page (no CDN), so it opens from
``file://`` on a machine without network.
"""

from .beats import beat_run_page, beat_run_sections
from .heart import heart_page, heart_sections, prediction_heart_page
from .page import PAGE_BUDGET
from .record import record_page

__all__ = ["PAGE_BUDGET", "beat_run_page", "beat_run_sections", "heart_page", "heart_sections",
           "prediction_heart_page", "record_page"]
