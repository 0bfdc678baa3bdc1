"""loanquality — 信贷资产质量管理系统."""

__version__ = "0.1.0"
