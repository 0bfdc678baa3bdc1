"""The warnings app's pages: ``cases`` (the list, a case, its 处理表) and ``notices``
(监测通知书 / 提示函)."""
