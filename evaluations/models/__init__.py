"""Models of the evaluations app, one module per area (imported here so Django finds them)."""

from evaluations.models.measurement import (
    KpiFormula,
    KpiImport,
    KpiRecord,
    Rating,
    RatingInvitation,
    RatingOptOut,
    ServiceTransaction,
    TransactionApiKey,
)
from evaluations.models.measurement_results import (
    ChecklistItem,
    EvaluationStageRule,
    Inspection,
    InspectionMark,
    InspectionPhoto,
    StaffMonth,
    StoreGradeWeights,
    StoreMonthScore,
    UnitMonth,
)

__all__ = [
    "ChecklistItem",
    "EvaluationStageRule",
    "Inspection",
    "InspectionMark",
    "InspectionPhoto",
    "KpiFormula",
    "KpiImport",
    "KpiRecord",
    "Rating",
    "RatingInvitation",
    "RatingOptOut",
    "ServiceTransaction",
    "StaffMonth",
    "StoreGradeWeights",
    "StoreMonthScore",
    "TransactionApiKey",
    "UnitMonth",
]
