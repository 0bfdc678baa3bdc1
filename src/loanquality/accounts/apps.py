from django.apps import AppConfig

from loanquality.common.audit_labels import AuditLabels


class AccountsConfig(AppConfig):
    name = "loanquality.accounts"
    verbose_name = "用户与权限"
    audit_labels = AuditLabels(
        actions={
            "login": "登录",
            "login.failed": "登录失败",
            "login.locked": "账户锁定",
            "api.token": "签发接口令牌",
            "api.token.revoke": "撤销接口令牌",
            "user.create": "新增用户",
            "user.change": "变更岗位或机构",
            "user.password": "修改密码",
            "user.disable": "停用用户",
            "user.enable": "启用用户",
            "user.unlock": "解除锁定",
        },
        fields={
            "role": "岗位角色",
            "org_id": "所属机构",
            "staff_id": "员工号",
            "is_active": "账户状态",
            "locked_until": "锁定至",
            "failed_logins": "连续登录失败次数",
            "until": "锁定至",
            "known": "用户名存在",
            "locked": "已锁定时尝试",
            "token": "令牌编号",
            "tokens": "令牌编号",
            "tokens_revoked": "撤销令牌数",
            "why": "原因",
        },
        values={"why": {"logout": "接口退出登录", "page": "用户在令牌页撤销"}},
    )
