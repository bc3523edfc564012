"""The web apps' routes, one ``APIRouter`` per concern, each reaching what it needs through ``Depends``
(:mod:`mnistlab.serve.dependencies`): pages.py (the drawing page, its script and style, the API page), status.py
(``/health``, ``/model``), prediction.py (``POST /predict``, explanations included), review.py (the review page's
routes). :mod:`mnistlab.serve.app` wires them into an app."""
